"""All tables. Importing this package registers every model, so Alembic sees them all."""
from namalms.models.assignment import TrainerAssignment
from namalms.models.audit import AuditEvent
from namalms.models.certificate import (
    REVOCATION_CATEGORIES, STATUS_LABELS, Certificate, CertificateDefinition, CertificatePdf, Eligibility,
)
from namalms.models.content import (
    Asset, ContentRevision, ContentState, ContentWrite, Course, District, Module, Region,
)
from namalms.models.mail import MAIL_STATUS_LABELS, OutgoingMail
from namalms.models.notification import NOTIFICATION_KINDS, NotificationOptOut
from namalms.models.progress import Enrollment, ModuleProgress, ProgressEvent, QuizAttempt
from namalms.models.session import LearnerStamp, LoginSession
from namalms.models.token import ApiToken
from namalms.models.user import ROLES, User
from namalms.models.workshop import FORMATS, Workshop, WorkshopAttendance
from namalms.models.xapi import XapiOutbox

__all__ = [
    "Eligibility",
    "ApiToken", "FORMATS", "Workshop", "WorkshopAttendance",
    "AuditEvent", "Certificate", "CertificateDefinition", "CertificatePdf", "REVOCATION_CATEGORIES", "STATUS_LABELS",
    "Asset", "ContentRevision", "ContentState", "ContentWrite", "Course", "District", "Enrollment", "Module", "ModuleProgress",
    "ProgressEvent", "QuizAttempt", "ROLES", "Region", "TrainerAssignment", "User", "XapiOutbox",
    "LearnerStamp", "LoginSession", "MAIL_STATUS_LABELS", "NOTIFICATION_KINDS", "NotificationOptOut", "OutgoingMail",
]
