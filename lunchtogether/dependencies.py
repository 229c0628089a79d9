"""Providers: what each request gets built for it, and what the whole app shares."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from lunchtogether.config import Settings
from lunchtogether.core.document_store import DocumentStore, build_document_store
from lunchtogether.core.email import Mailer, OutboxSignal, build_mailer
from lunchtogether.core.images import ImageProcessor
from lunchtogether.core.rate_limit import AttemptLimiter, AttemptLimits, Limit
from lunchtogether.core.security import PasswordHasher, TokenCodec
from lunchtogether.core.storage import Storage, build_storage
from lunchtogether.core.workers import WorkerThreads
from lunchtogether.database import RequestDatabase
from lunchtogether.emails import AccountEmails
from lunchtogether.repositories.account_token import AccountTokenRepository
from lunchtogether.repositories.email_outbox import EmailOutboxRepository
from lunchtogether.repositories.session import SessionRepository
from lunchtogether.repositories.user import UserRepository
from lunchtogether.workflows.account.delete_account import DeleteAccountWorkflow
from lunchtogether.workflows.account.request_email_verification import RequestEmailVerificationWorkflow
from lunchtogether.workflows.account.request_password_reset import RequestPasswordResetWorkflow
from lunchtogether.workflows.account.reset_password import ResetPasswordWorkflow
from lunchtogether.workflows.account.send_verification_link import SendVerificationLinkWorkflow
from lunchtogether.workflows.account.verify_email import VerifyEmailWorkflow
from lunchtogether.workflows.email.deliver_emails import DeliverEmailsWorkflow
from lunchtogether.workflows.session.list_sessions import ListSessionsWorkflow
from lunchtogether.workflows.session.refresh_session import RefreshSessionWorkflow
from lunchtogether.workflows.session.renew_session import RenewSessionWorkflow
from lunchtogether.workflows.session.revoke_session import RevokeSessionWorkflow
from lunchtogether.workflows.user.authenticate import AuthenticateWorkflow
from lunchtogether.workflows.user.change_password import ChangePasswordWorkflow
from lunchtogether.workflows.user.count_users import CountUsersWorkflow
from lunchtogether.workflows.user.delete_user import DeleteUserWorkflow
from lunchtogether.workflows.user.get_users import GetUsersWorkflow
from lunchtogether.workflows.user.list_users import ListUsersWorkflow
from lunchtogether.workflows.user.login import LoginWorkflow
from lunchtogether.workflows.user.logout import LogoutWorkflow
from lunchtogether.workflows.user.register import RegisterWorkflow
from lunchtogether.workflows.user.update_user import UpdateUserWorkflow
from lunchtogether.workflows.user.upload_avatar import UploadAvatarWorkflow


@dataclass(frozen=True, slots=True)
class Services:
    """Built once per app: stateless and safe to share between requests."""

    settings: Settings
    hasher: PasswordHasher
    tokens: TokenCodec
    limiter: AttemptLimiter
    limits: AttemptLimits
    storage: Storage
    images: ImageProcessor
    workers: WorkerThreads
    session_max_age: timedelta
    """No session outlives its login by more, however used."""
    mailer: Mailer
    # Rung when a request commits a message, so that this process's delivery loop sends it at once.
    outbox_signal: OutboxSignal
    emails: AccountEmails
    # Documents clients registered by hash (automatic persisted queries).
    persisted_queries: DocumentStore

    @classmethod
    def from_settings(cls, settings: Settings) -> "Services":
        workers = WorkerThreads()
        return cls(
            settings=settings,
            workers=workers,
            hasher=PasswordHasher(rounds=settings.bcrypt_rounds, workers=workers),
            tokens=TokenCodec(
                secret=settings.jwt_secret,
                algorithm=settings.jwt_algorithm,
                lifetime=timedelta(minutes=settings.jwt_access_token_expire_minutes),
            ),
            limiter=AttemptLimiter(settings.redis_url),
            limits=AttemptLimits(
                login_per_email=Limit.parse("login-email", settings.rate_limit_login_per_email),
                login_per_ip=Limit.parse("login-ip", settings.rate_limit_login_per_ip),
                register_per_ip=Limit.parse("register-ip", settings.rate_limit_register),
                change_password_per_user=Limit.parse("change-password", settings.rate_limit_change_password),
                email_verification_per_user=Limit.parse("email-verification", settings.rate_limit_email_verification),
                password_reset_per_email=Limit.parse("password-reset-email", settings.rate_limit_password_reset),
                password_reset_per_ip=Limit.parse("password-reset-ip", settings.rate_limit_password_reset),
            ),
            storage=build_storage(settings),
            images=ImageProcessor(workers=workers),
            session_max_age=timedelta(days=settings.session_max_age_days),
            mailer=build_mailer(settings),
            outbox_signal=OutboxSignal(),
            emails=AccountEmails(frontend_url=settings.frontend_url),
            persisted_queries=build_document_store(settings),
        )

    async def close(self) -> None:
        await self.storage.close()
        await self.persisted_queries.close()
        self.workers.close()


class Dependencies:
    """Repositories and workflows for one request, all on the request's one connection."""

    def __init__(self, db: RequestDatabase, services: Services) -> None:
        self.db = db
        self.services = services

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.db)

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.db)

    @cached_property
    def outbox(self) -> EmailOutboxRepository:
        return EmailOutboxRepository(self.db, on_stored=self.services.outbox_signal.ring)

    def deliver_emails(self) -> DeliverEmailsWorkflow:
        return DeliverEmailsWorkflow(outbox=self.outbox, mailer=self.services.mailer)

    @cached_property
    def account_tokens(self) -> AccountTokenRepository:
        return AccountTokenRepository(self.db)

    def authenticate(self) -> AuthenticateWorkflow:
        return AuthenticateWorkflow(users=self.users, sessions=self.sessions, tokens=self.services.tokens)

    def get_users(self) -> GetUsersWorkflow:
        return GetUsersWorkflow(users=self.users)

    def list_users(self) -> ListUsersWorkflow:
        return ListUsersWorkflow(users=self.users)

    def count_users(self) -> CountUsersWorkflow:
        return CountUsersWorkflow(users=self.users)

    def register(self) -> RegisterWorkflow:
        return RegisterWorkflow(
            users=self.users,
            hasher=self.services.hasher,
            send_link=self.send_verification_link(),
            limiter=self.services.limiter,
            limits=self.services.limits,
        )

    def login(self) -> LoginWorkflow:
        return LoginWorkflow(
            users=self.users,
            sessions=self.sessions,
            hasher=self.services.hasher,
            tokens=self.services.tokens,
            limiter=self.services.limiter,
            limits=self.services.limits,
            max_age=self.services.session_max_age,
        )

    def logout(self) -> LogoutWorkflow:
        return LogoutWorkflow(sessions=self.sessions)

    def refresh_session(self) -> RefreshSessionWorkflow:
        return RefreshSessionWorkflow(
            sessions=self.sessions, tokens=self.services.tokens, max_age=self.services.session_max_age
        )

    def renew_session(self) -> RenewSessionWorkflow:
        return RenewSessionWorkflow(
            refresh=self.refresh_session(), tokens=self.services.tokens, max_age=self.services.session_max_age
        )

    def list_sessions(self) -> ListSessionsWorkflow:
        return ListSessionsWorkflow(sessions=self.sessions)

    def revoke_session(self) -> RevokeSessionWorkflow:
        return RevokeSessionWorkflow(sessions=self.sessions)

    def update_user(self) -> UpdateUserWorkflow:
        return UpdateUserWorkflow(
            users=self.users,
            sessions=self.sessions,
            outbox=self.outbox,
            emails=self.services.emails,
            send_link=self.send_verification_link(),
        )

    def upload_avatar(self) -> UploadAvatarWorkflow:
        return UploadAvatarWorkflow(
            users=self.users,
            storage=self.services.storage,
            images=self.services.images,
            max_upload_size=self.services.settings.max_upload_size,
        )

    def delete_user(self) -> DeleteUserWorkflow:
        return DeleteUserWorkflow(users=self.users, storage=self.services.storage)

    def change_password(self) -> ChangePasswordWorkflow:
        return ChangePasswordWorkflow(
            users=self.users,
            sessions=self.sessions,
            hasher=self.services.hasher,
            limiter=self.services.limiter,
            limits=self.services.limits,
        )

    def send_verification_link(self) -> SendVerificationLinkWorkflow:
        return SendVerificationLinkWorkflow(
            tokens=self.account_tokens,
            outbox=self.outbox,
            emails=self.services.emails,
            lifetime=timedelta(hours=self.services.settings.email_verification_ttl_hours),
        )

    def request_email_verification(self) -> RequestEmailVerificationWorkflow:
        return RequestEmailVerificationWorkflow(
            send_link=self.send_verification_link(), limiter=self.services.limiter, limits=self.services.limits
        )

    def verify_email(self) -> VerifyEmailWorkflow:
        return VerifyEmailWorkflow(tokens=self.account_tokens, users=self.users)

    def request_password_reset(self) -> RequestPasswordResetWorkflow:
        return RequestPasswordResetWorkflow(
            tokens=self.account_tokens,
            outbox=self.outbox,
            emails=self.services.emails,
            lifetime=timedelta(minutes=self.services.settings.password_reset_ttl_minutes),
            limiter=self.services.limiter,
            limits=self.services.limits,
        )

    def reset_password(self) -> ResetPasswordWorkflow:
        return ResetPasswordWorkflow(
            users=self.users,
            sessions=self.sessions,
            tokens=self.account_tokens,
            outbox=self.outbox,
            emails=self.services.emails,
            hasher=self.services.hasher,
        )

    def delete_account(self) -> DeleteAccountWorkflow:
        return DeleteAccountWorkflow(
            users=self.users,
            hasher=self.services.hasher,
            delete_user=self.delete_user(),
            limiter=self.services.limiter,
            limits=self.services.limits,
        )
