"""Published content as the app serves it: courses, modules, immutable revisions, images.

`content/` is the authoring source; everything served comes from these tables so several app
servers see the same content.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from namalms.extensions import db
from namalms.models.base import UTCDateTime, utcnow


class Region(db.Model):
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)


class District(db.Model):
    """A Kreis or kreisfreie Stadt in NRW (or "außerhalb NRW"), mapped to a region."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[str] = mapped_column(ForeignKey("region.id"))
    position: Mapped[int] = mapped_column(default=0)

    region = relationship("Region")


# How a revision's author reads for trainers: the synchronisation from content/ is no person.
AUTHOR_LABELS = {"content sync": "aus dem Inhaltsordner übernommen", "": "unbekannt"}


class ContentRevision(db.Model):
    """One immutable published version of a content file (module, course, programme, regions)."""

    __table_args__ = (UniqueConstraint("kind", "key", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text, default="")
    toc: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def author_shown(self) -> str:
        """Who published it, in words for trainers ("aus dem Inhaltsordner übernommen", a name)."""
        return AUTHOR_LABELS.get(self.author_label or "", self.author_label)


class Course(db.Model):
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    short_title: Mapped[str] = mapped_column(String(200))
    description_html: Mapped[str] = mapped_column(Text, default="")
    audience_html: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    current_revision_id: Mapped[int | None] = mapped_column(ForeignKey("content_revision.id"))

    modules = relationship("Module", back_populates="course", order_by="Module.position")


class Module(db.Model):
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("course.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[int] = mapped_column(default=0)
    is_required: Mapped[bool] = mapped_column(default=True)
    has_workshop: Mapped[bool] = mapped_column(default=False)
    workshop_title: Mapped[str | None] = mapped_column(String(300))
    has_quiz: Mapped[bool] = mapped_column(default=False)
    pass_mark: Mapped[int | None] = mapped_column()
    # Retired modules stay in the database so progress and certificates keep their meaning.
    is_retired: Mapped[bool] = mapped_column(default=False)
    current_revision_id: Mapped[int | None] = mapped_column(ForeignKey("content_revision.id"))

    course = relationship("Course", back_populates="modules")
    current_revision = relationship("ContentRevision", foreign_keys=[current_revision_id])


class Asset(db.Model):
    """An image, stored once by its content hash and served from the database."""

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(300))
    mime_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContentWrite(db.Model):
    """A file of ``content/`` still to be written back after its revision was committed.

    Publishing records the new file bytes here in the same transaction as the revision, so the
    database is the commit point: after the commit the file is written and the row deleted; a
    process killed in between leaves the row, and the next start or ``content sync`` finishes
    the write. ``data`` None deletes the file.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContentState(db.Model):
    """One row: a random stamp that changes with every change to published content.

    Written in the transaction of the change itself (see :mod:`namalms.content_cache`), so every
    app process can tell with one small read whether what it prepared from the content – module
    pages, the programme's rules – is still current.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
    # Changes with every change to rows every learner's pages show that are not content (the
    # workshops); see :mod:`namalms.learner_stamps`.
    site_stamp: Mapped[int | None] = mapped_column(BigInteger)
