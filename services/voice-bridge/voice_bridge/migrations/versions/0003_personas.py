"""personas (admin-configurable; at most one the default) and the persona each voice session used

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:07:54
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("persona", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
        sa.UniqueConstraint("name", name=op.f("uq_personas_name")),
    )
    # Sessions from before this revision were all made with the built-in persona: NULL says just that.
    with op.batch_alter_table("voice_sessions") as batch:
        batch.add_column(sa.Column("persona_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voice_sessions") as batch:
        batch.drop_column("persona_id")
    op.drop_table("personas")
