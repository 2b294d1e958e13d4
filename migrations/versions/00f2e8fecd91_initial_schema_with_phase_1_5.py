"""Initial schema with Phase 1.5 features

Revision ID: 00f2e8fecd91
Revises:
Create Date: 2026-11-24 08:19:11.919372
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '00f2e8fecd91'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('crawl_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('found_count', sa.Integer(), nullable=False),
    sa.Column('imported_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('template_ids', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'running', 'completed', 'partial', 'failed')", name=op.f('ck_crawl_tasks_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crawl_tasks'))
    )
    op.create_index('ix_crawl_status', 'crawl_tasks', ['status'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('storage_type', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("storage_type IN ('permanent', 'temporary')", name=op.f('ck_images_storage_type')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_images_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('path', name=op.f('uq_images_path'))
    )
    op.create_index('ix_images_session', 'images', ['session_id'], unique=False)
    op.create_index('ix_images_sha256', 'images', ['sha256'], unique=False)
    op.create_index('ix_images_storage_type', 'images', ['storage_type', 'expires_at'], unique=False)

    op.create_table('batch_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('husband_photo_id', sa.Integer(), nullable=False),
    sa.Column('wife_photo_id', sa.Integer(), nullable=False),
    sa.Column('template_ids', sa.JSON(), nullable=False),
    sa.Column('source_faces', sa.JSON(), nullable=True),
    sa.Column('source_notes', sa.JSON(), nullable=True),
    sa.Column('engine', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total_tasks', sa.Integer(), nullable=False),
    sa.Column('completed_tasks', sa.Integer(), nullable=False),
    sa.Column('failed_tasks', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'running', 'completed', 'partial', 'failed')", name=op.f('ck_batch_tasks_status')),
    sa.ForeignKeyConstraint(['husband_photo_id'], ['images.id'], name=op.f('fk_batch_tasks_husband_photo_id_images')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_batch_tasks_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['wife_photo_id'], ['images.id'], name=op.f('fk_batch_tasks_wife_photo_id_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_tasks')),
    sa.UniqueConstraint('batch_id', name=op.f('uq_batch_tasks_batch_id'))
    )
    op.create_index('ix_batch_session', 'batch_tasks', ['session_id'], unique=False)
    op.create_index('ix_batch_status', 'batch_tasks', ['status'], unique=False)

    op.create_table('templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('original_image_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('is_preprocessed', sa.Boolean(), nullable=False),
    sa.Column('male_face_count', sa.Integer(), nullable=False),
    sa.Column('female_face_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['original_image_id'], ['images.id'], name=op.f('fk_templates_original_image_id_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates'))
    )
    op.create_table('faceswap_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('husband_photo_id', sa.Integer(), nullable=False),
    sa.Column('wife_photo_id', sa.Integer(), nullable=False),
    sa.Column('result_image_id', sa.Integer(), nullable=True),
    sa.Column('face_mappings', sa.JSON(), nullable=True),
    sa.Column('mapping_overrides', sa.JSON(), nullable=True),
    sa.Column('face_report', sa.JSON(), nullable=True),
    sa.Column('use_preprocessed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'running', 'completed', 'failed')", name=op.f('ck_faceswap_tasks_status')),
    sa.ForeignKeyConstraint(['batch_id'], ['batch_tasks.batch_id'], name=op.f('fk_faceswap_tasks_batch_id_batch_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['husband_photo_id'], ['images.id'], name=op.f('fk_faceswap_tasks_husband_photo_id_images')),
    sa.ForeignKeyConstraint(['result_image_id'], ['images.id'], name=op.f('fk_faceswap_tasks_result_image_id_images'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_faceswap_tasks_template_id_templates')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_faceswap_tasks_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['wife_photo_id'], ['images.id'], name=op.f('fk_faceswap_tasks_wife_photo_id_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faceswap_tasks')),
    sa.UniqueConstraint('task_id', name=op.f('uq_faceswap_tasks_task_id'))
    )
    op.create_index('ix_tasks_batch', 'faceswap_tasks', ['batch_id'], unique=False)
    op.create_index('ix_tasks_status_lease', 'faceswap_tasks', ['status', 'lease_expires_at'], unique=False)

    op.create_table('template_preprocessing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('faces_detected', sa.Integer(), nullable=False),
    sa.Column('face_data', sa.JSON(), nullable=True),
    sa.Column('masked_image_id', sa.Integer(), nullable=True),
    sa.Column('preprocessing_status', sa.String(length=16), nullable=False),
    sa.Column('engine', sa.String(length=16), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("preprocessing_status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_template_preprocessing_status')),
    sa.ForeignKeyConstraint(['masked_image_id'], ['images.id'], name=op.f('fk_template_preprocessing_masked_image_id_images'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_template_preprocessing_template_id_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_preprocessing')),
    sa.UniqueConstraint('template_id', name=op.f('uq_template_preprocessing_template_id'))
    )
    op.create_index('ix_preprocessing_status', 'template_preprocessing', ['preprocessing_status'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_preprocessing_status', table_name='template_preprocessing')

    op.drop_table('template_preprocessing')
    op.drop_index('ix_tasks_status_lease', table_name='faceswap_tasks')
    op.drop_index('ix_tasks_batch', table_name='faceswap_tasks')

    op.drop_table('faceswap_tasks')
    op.drop_table('templates')
    op.drop_index('ix_batch_status', table_name='batch_tasks')
    op.drop_index('ix_batch_session', table_name='batch_tasks')

    op.drop_table('batch_tasks')
    op.drop_index('ix_images_storage_type', table_name='images')
    op.drop_index('ix_images_sha256', table_name='images')
    op.drop_index('ix_images_session', table_name='images')

    op.drop_table('images')
    op.drop_table('users')
    op.drop_index('ix_crawl_status', table_name='crawl_tasks')

    op.drop_table('crawl_tasks')
