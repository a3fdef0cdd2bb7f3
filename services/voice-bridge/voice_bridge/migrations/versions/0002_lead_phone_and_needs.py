"""lead projection: phone (to recognise a lead calling back) and the newest extracted needs

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_leads = sa.table(
    "lead_projection",
    sa.column("id", sa.String(36)),
    sa.column("snapshot", sa.JSON),
    sa.column("phone", sa.String(20)),
)


def upgrade() -> None:
    with op.batch_alter_table("lead_projection") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("needs", sa.JSON(), nullable=True))
        batch.create_index("ix_lead_projection_phone", ["phone"], unique=False)
    # Leads projected before this revision carry their phone only inside the snapshot.
    connection = op.get_bind()
    for lead_id, snapshot in connection.execute(sa.select(_leads.c.id, _leads.c.snapshot)).all():
        phone = (snapshot or {}).get("phone")
        if phone:
            connection.execute(sa.update(_leads).where(_leads.c.id == lead_id).values(phone=phone[:20]))


def downgrade() -> None:
    with op.batch_alter_table("lead_projection") as batch:
        batch.drop_index("ix_lead_projection_phone")
        batch.drop_column("needs")
        batch.drop_column("phone")
