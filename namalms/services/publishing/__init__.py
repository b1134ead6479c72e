"""Publishing from the trainer workspace: the one service behind the web pages and the CLI.

Every change – a module edited in the browser, an uploaded ``.md`` file or course ``.zip``, an
image, a restored revision, a new, moved or retired module – goes the same way:

1. **Plan**: build the candidate tree (the current ``content/`` folder plus the change, in a
   temporary copy) and run the very checks of ``flask content check`` on it, so problems in other
   files (an id used twice, a missing image, ``order`` against ``course.yml``) are caught too.
2. **Refuse** with every problem (:class:`ContentProblems`) while any remains; refuse with
   :class:`ContentConflict` when somebody published the module since the editor was opened
   (checked again under a row lock inside the transaction).
3. **Publish**: new immutable revisions through :mod:`namalms.services.content_sync`; the files
   are written back into ``content/`` so a git checkout of the folder stays the source.

Progress hangs on module ids: an edit that changes a module's id is refused; a module is never
deleted, only retired (kept as a file, listed under ``retired:`` in ``course.yml``).
Like every service this flushes and never commits.

The package, by job: :mod:`.files` (the content folder, checks on a copy, write-back),
:mod:`.modules` (one module: plan, preview, publish, restore, history), :mod:`.structure`
(reorder, retire), :mod:`.uploads` (images, zipped course folders), :mod:`.overview` (what the
trainer sees), :mod:`.problems` (why publishing refused). Pure text edits of ``course.yml`` live
next to the loader in :mod:`namalms.content.listing`.
"""
from namalms.services.publishing.files import content_root, course_folder, normalise_text
from namalms.services.publishing.modules import (
    ModulePlan, Preview, get_module, new_module_skeleton, plan_module_edit, plan_module_upload, plan_new_module,
    plan_restore, preview_module, publish_module_source, restore_revision, revision_of, revisions_of,
)
from namalms.services.publishing.overview import Affected, affected_learners, content_overview
from namalms.services.publishing.problems import ContentConflict, ContentProblems, NothingChanged
from namalms.services.publishing.structure import StructureChange, move_module, retire_module
from namalms.services.publishing.uploads import (
    ImageUpload, ZipPlan, course_images, plan_course_zip, publish_course_zip, upload_image,
)

__all__ = [
    "Affected", "ContentConflict", "ContentProblems", "ImageUpload", "ModulePlan", "NothingChanged", "Preview",
    "StructureChange", "ZipPlan", "affected_learners", "content_overview", "content_root", "course_folder",
    "course_images", "get_module", "move_module", "new_module_skeleton", "normalise_text", "plan_course_zip",
    "plan_module_edit", "plan_module_upload", "plan_new_module", "plan_restore", "preview_module",
    "publish_course_zip", "publish_module_source", "restore_revision", "retire_module", "revision_of",
    "revisions_of", "upload_image",
]
