"""lead projection: every zone the lead may be in, and the phone's country (whose calling rules apply)

Rows from before keep NULL: they are read as their one timezone until the lead's next snapshot
(the leads service re-announces every lead when it records these fields).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_projection") as batch:
        batch.add_column(sa.Column("timezone_candidates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_projection") as batch:
        batch.drop_column("country")
        batch.drop_column("timezone_candidates")
