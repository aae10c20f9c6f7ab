"""Contracts, the people on them, and their seats: the tenancy every other app builds on.

A *contract* is one sales organisation. Each user holds at most one *seat* on one contract, and the
seat's role decides what they may do (seed guide, "Prerequisites"):

- **Admin** configures the CRM connection and seats, and also prospects (Admin + Team Member seat);
- **Admin only** configures but "will not be able to verify full functionality for other roles";
- **Seat holder** prospects: Accounts, Leads, Inbox, notes.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    """Users sign in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField("email address", unique=True)
    # The zone pages show times in; "" follows the browser's (seats.timezones).
    time_zone = models.CharField(
        "Time zone",
        max_length=64,
        blank=True,
        help_text="Times are shown in this zone. Empty: the browser's own.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Contract(models.Model):
    """A sales organisation with a number of purchased seats and (later) one CRM connection."""

    name = models.CharField(max_length=200)
    purchased_seats = models.PositiveIntegerField(
        default=10, help_text="How many Admin and Seat holder seats the contract pays for."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ADMIN_ONLY = "admin_only", "Admin only"
    SEAT_HOLDER = "seat_holder", "Seat holder"


ADMIN_ROLES = (Role.ADMIN, Role.ADMIN_ONLY)
# Roles that use a purchased seat and have the seat-holder features (Accounts, Leads, Inbox).
SEAT_ROLES = (Role.ADMIN, Role.SEAT_HOLDER)


class CrmSync(models.TextChoices):
    """A seat's own CRM-sync choice, made on Seat Management.

    ``DEFAULT`` follows the contract's *Auto sync all seat holders with CRM?* answer; ``ON`` and
    ``OFF`` are an admin's explicit *Enable CRM Sync* / *Disable CRM Sync* for this seat.
    """

    DEFAULT = "default", "Follow the contract's auto sync"
    ON = "on", "Enabled"
    OFF = "off", "Disabled"


# "A seat takes part in CRM sync": it has seat features (``SEAT_ROLES``) and its ``crm_sync``
# choice is one of ``crm_sync_modes``. This pair is the rule's one definition; the import's SQL,
# Seat Management's annotations and the Python check for one seat are all built from it
# (``crm_sync_on_q``, ``Seat.crm_sync_on``), and tests/seats/test_crm_sync_rule.py checks that
# they agree in every state.


def crm_sync_modes(*, auto_sync: bool) -> tuple[str, ...]:
    """The ``crm_sync`` choices that take part, given the contract's *Auto sync all seat holders
    with CRM?* answer: an admin's *Enable CRM Sync* always, and the default only with auto sync.
    """
    return (CrmSync.ON, CrmSync.DEFAULT) if auto_sync else (CrmSync.ON,)


def crm_sync_on_q(*, auto_sync: bool | models.Expression) -> models.Q:
    """The seats that take part in CRM sync, as a filter.

    ``auto_sync`` is the contract's answer: a bool when every seat filtered belongs to one
    contract (the import), or a boolean expression giving each row its own contract's answer
    (Seat Management, over any mix of contracts). seats knows nothing of where the answer is
    stored; the caller passes it.
    """
    if isinstance(auto_sync, bool):
        return models.Q(role__in=SEAT_ROLES, crm_sync__in=crm_sync_modes(auto_sync=auto_sync))
    always = crm_sync_modes(auto_sync=False)
    only_with_auto = [mode for mode in crm_sync_modes(auto_sync=True) if mode not in always]
    return models.Q(role__in=SEAT_ROLES) & (
        models.Q(crm_sync__in=always)
        | (models.Q(crm_sync__in=only_with_auto) & models.Q(auto_sync))
    )


class Seat(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="seats")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seat"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SEAT_HOLDER)
    crm_sync = models.CharField(max_length=10, choices=CrmSync.choices, default=CrmSync.DEFAULT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__email"]
        indexes = [models.Index(fields=["contract", "role"])]

    def __str__(self):
        return f"{self.user.email} ({self.get_role_display()}, {self.contract.name})"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def has_seat_features(self) -> bool:
        return self.role in SEAT_ROLES

    def crm_sync_on(self, *, auto_sync: bool) -> bool:
        """Whether this seat takes part in CRM sync, given the contract's auto-sync answer: the
        one-row reading of ``crm_sync_on_q``."""
        return self.has_seat_features and self.crm_sync in crm_sync_modes(auto_sync=auto_sync)


class AuditEntry(models.Model):
    """Who changed what on a contract, and the values before and after.

    Written by services for every administrative change (connect, settings, writeback, seats,
    disconnect, purge), whether made on the portal's pages or by staff in the Django admin; read
    by contract admins in words on Reports > Audit trail (``reports.audit``) and by staff in the
    Django admin.
    """

    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the entry still says who acted after the user is deleted.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=254, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'}: {self.action}"


class ApiToken(models.Model):
    """A per-device token a seat holder creates for the mobile app (``/api/v1/``).

    Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="Which device this token is for.")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "user",
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_unique_live_name_per_user",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
