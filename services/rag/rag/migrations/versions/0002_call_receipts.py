"""rag: call receipts, so a call whose needs are still being extracted reads as pending, not unknown

Calls handled before this revision have their needs and recommendation records already; they need no
receipt (a receipt only matters until those records are written).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call_receipts',
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('lead_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_call_receipts'))
    )


def downgrade() -> None:
    op.drop_table('call_receipts')
