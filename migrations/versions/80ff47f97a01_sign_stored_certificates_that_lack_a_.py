"""Sign stored certificates that lack a signature, with the current key, recording its key id

Since key rings, downloads and /verify check the *stored* signature instead of signing anew on
every request. Certificates written by older versions always stored one at issue; rows without
one (imported or hand-made data) are signed here once with the active key of this
installation's key ring, so they keep verifying. No schema change.

Revision ID: 80ff47f97a01
Revises: d81f3c5a7e20
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '80ff47f97a01'
down_revision = 'd81f3c5a7e20'
branch_labels = None
depends_on = None

certificate = sa.table(
    "certificate",
    sa.column("id", sa.Integer),
    sa.column("snapshot", sa.JSON),
    sa.column("signature", sa.Text),
    sa.column("key_id", sa.String(32)),
    sa.column("user_id", sa.Integer),
)


def upgrade():
    bind = op.get_bind()
    unsigned = bind.execute(
        sa.select(certificate.c.id, certificate.c.snapshot)
        .where(sa.or_(certificate.c.signature == "", certificate.c.key_id == ""),
               certificate.c.user_id.is_not(None))).all()  # anonymous records of deleted accounts stay unsigned
    if not unsigned:
        return
    from namalms import keys
    from namalms.certificates import signing
    from namalms.certificates.keyring import KeyRingError

    try:
        key = keys.active_key()
    except KeyRingError as error:
        raise RuntimeError(f"{len(unsigned)} stored certificate(s) have no signature and must be signed "
                           f"during this upgrade, but {error}") from None
    kid = signing.key_id(key)
    for row_id, snapshot in unsigned:
        bind.execute(certificate.update().where(certificate.c.id == row_id).values(
            signature=signing.sign_snapshot(snapshot or {}, key), key_id=kid))


def downgrade():
    pass  # signatures stay: they are correct under the old code as well
