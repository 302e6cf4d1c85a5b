"""platform foundation

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:45:18.850895
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('actor_username', sa.String(length=64), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=True),
    sa.Column('organization_code', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=True),
    sa.Column('resource_id', sa.String(length=128), nullable=True),
    sa.Column('purpose', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', 'at', name=op.f('pk_audit_event')),
    postgresql_partition_by='RANGE (at)'
    )
    op.create_index('ix_audit_event_actor_at', 'audit_event', ['actor_username', 'at'], unique=False)
    op.create_index('ix_audit_event_at', 'audit_event', ['at'], unique=False)
    op.create_index('ix_audit_event_resource', 'audit_event', ['resource_type', 'resource_id'], unique=False)
    op.create_table('organization',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('short_name', sa.String(length=50), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['organization.id'], name=op.f('fk_organization_parent_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization')),
    sa.UniqueConstraint('code', name=op.f('uq_organization_code')),
    sa.UniqueConstraint('uscc', name=op.f('uq_organization_uscc'))
    )
    op.create_index(op.f('ix_organization_level'), 'organization', ['level'], unique=False)
    op.create_index(op.f('ix_organization_parent_id'), 'organization', ['parent_id'], unique=False)
    op.create_index(op.f('ix_organization_type'), 'organization', ['type'], unique=False)
    op.create_table('department',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_department_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('code', name=op.f('uq_department_code'))
    )
    op.create_index(op.f('ix_department_organization_id'), 'department', ['organization_id'], unique=False)
    op.create_table('practitioner',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_bidx', sa.LargeBinary(), nullable=True),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('department_id', sa.UUID(), nullable=True),
    sa.Column('title', sa.String(length=32), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_practitioner_department_id_department')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_practitioner_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner')),
    sa.UniqueConstraint('code', name=op.f('uq_practitioner_code'))
    )
    op.create_index(op.f('ix_practitioner_id_number_bidx'), 'practitioner', ['id_number_bidx'], unique=False)
    op.create_index(op.f('ix_practitioner_name'), 'practitioner', ['name'], unique=False)
    op.create_index(op.f('ix_practitioner_organization_id'), 'practitioner', ['organization_id'], unique=False)
    op.create_index(op.f('ix_practitioner_role'), 'practitioner', ['role'], unique=False)
    op.create_table('care_team',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.UUID(), nullable=False),
    sa.Column('leader_id', sa.UUID(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['practitioner.id'], name=op.f('fk_care_team_leader_id_practitioner')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_care_team_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_team')),
    sa.UniqueConstraint('code', name=op.f('uq_care_team_code'))
    )
    op.create_index(op.f('ix_care_team_organization_id'), 'care_team', ['organization_id'], unique=False)
    op.create_table('care_team_member',
    sa.Column('team_id', sa.UUID(), nullable=False),
    sa.Column('practitioner_id', sa.UUID(), nullable=False),
    sa.Column('team_role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_care_team_member_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['team_id'], ['care_team.id'], name=op.f('fk_care_team_member_team_id_care_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'practitioner_id', name=op.f('pk_care_team_member'))
    )
    op.create_index('ix_care_team_member_practitioner', 'care_team_member', ['practitioner_id'], unique=False)
    op.create_table('resident',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('id_number_bidx', sa.LargeBinary(), nullable=False),
    sa.Column('phone_enc', sa.LargeBinary(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('street', sa.String(length=50), nullable=True),
    sa.Column('community', sa.String(length=50), nullable=True),
    sa.Column('home_organization_id', sa.UUID(), nullable=True),
    sa.Column('medical_insurance_no', sa.String(length=32), nullable=True),
    sa.Column('signed_team_id', sa.UUID(), nullable=True),
    sa.Column('chronic', sa.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['home_organization_id'], ['organization.id'], name=op.f('fk_resident_home_organization_id_organization')),
    sa.ForeignKeyConstraint(['signed_team_id'], ['care_team.id'], name=op.f('fk_resident_signed_team_id_care_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident')),
    sa.UniqueConstraint('id_number_bidx', name=op.f('uq_resident_id_number_bidx')),
    sa.UniqueConstraint('medical_insurance_no', name=op.f('uq_resident_medical_insurance_no'))
    )
    op.create_index(op.f('ix_resident_home_organization_id'), 'resident', ['home_organization_id'], unique=False)
    op.create_index(op.f('ix_resident_name'), 'resident', ['name'], unique=False)
    op.create_index(op.f('ix_resident_signed_team_id'), 'resident', ['signed_team_id'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.UUID(), nullable=True),
    sa.Column('practitioner_id', sa.UUID(), nullable=True),
    sa.Column('resident_id', sa.UUID(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_app_user_organization_id_organization')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_app_user_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_app_user_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_index(op.f('ix_app_user_organization_id'), 'app_user', ['organization_id'], unique=False)
    op.create_index(op.f('ix_app_user_role'), 'app_user', ['role'], unique=False)
    op.create_table('auth_session',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('refresh_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_auth_session_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_session')),
    sa.UniqueConstraint('refresh_digest', name=op.f('uq_auth_session_refresh_digest'))
    )
    op.create_index(op.f('ix_auth_session_user_id'), 'auth_session', ['user_id'], unique=False)

    _audit_partitions_and_append_only()


AUDIT_SQL = [
    "CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT",
    """
    CREATE FUNCTION jizuo_ensure_audit_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        first_day date := date_trunc('month', month_start)::date;
        part text := format('audit_event_y%sm%s', to_char(first_day, 'YYYY'), to_char(first_day, 'MM'));
    BEGIN
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)',
                           part, first_day, (first_day + interval '1 month')::date);
        END IF;
    END $$
    """,
    """
    CREATE FUNCTION jizuo_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION jizuo_reject_audit_change()
    """,
    "SELECT jizuo_ensure_audit_partition((now() + make_interval(months => m))::date) "
    "FROM generate_series(-1, 2) AS m",
]


def _audit_partitions_and_append_only() -> None:
    for statement in AUDIT_SQL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS jizuo_reject_audit_change()")
    op.execute("DROP FUNCTION IF EXISTS jizuo_ensure_audit_partition(date)")
    op.drop_index(op.f('ix_auth_session_user_id'), table_name='auth_session')
    op.drop_table('auth_session')
    op.drop_index(op.f('ix_app_user_role'), table_name='app_user')
    op.drop_index(op.f('ix_app_user_organization_id'), table_name='app_user')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_resident_signed_team_id'), table_name='resident')
    op.drop_index(op.f('ix_resident_name'), table_name='resident')
    op.drop_index(op.f('ix_resident_home_organization_id'), table_name='resident')
    op.drop_table('resident')
    op.drop_index('ix_care_team_member_practitioner', table_name='care_team_member')
    op.drop_table('care_team_member')
    op.drop_index(op.f('ix_care_team_organization_id'), table_name='care_team')
    op.drop_table('care_team')
    op.drop_index(op.f('ix_practitioner_role'), table_name='practitioner')
    op.drop_index(op.f('ix_practitioner_organization_id'), table_name='practitioner')
    op.drop_index(op.f('ix_practitioner_name'), table_name='practitioner')
    op.drop_index(op.f('ix_practitioner_id_number_bidx'), table_name='practitioner')
    op.drop_table('practitioner')
    op.drop_index(op.f('ix_department_organization_id'), table_name='department')
    op.drop_table('department')
    op.drop_index(op.f('ix_organization_type'), table_name='organization')
    op.drop_index(op.f('ix_organization_parent_id'), table_name='organization')
    op.drop_index(op.f('ix_organization_level'), table_name='organization')
    op.drop_table('organization')
    op.drop_index('ix_audit_event_resource', table_name='audit_event')
    op.drop_index('ix_audit_event_at', table_name='audit_event')
    op.drop_index('ix_audit_event_actor_at', table_name='audit_event')
    op.drop_table('audit_event')
