"""The prospecting side the CRM is synced with.

*Companies* and *members* (people) form the network every contract prospects in, like the member
base of Sales Navigator; they are shared, not owned by a contract. What a seat holder keeps is
private to their seat: their saved *Accounts* (companies) and *Leads* (members). A save is either
made by hand, imported from the CRM, or both; the import only ever adds or removes its own mark
("saves the seat holder made by hand are never touched", DESIGN §4).
"""

from django.db import models

from network.normalize import (
    normalize_company,
    normalize_domain,
    normalize_email,
    normalize_profile_url,
    person_key,
)
from seats.models import Seat


class Company(models.Model):
    name = models.CharField(max_length=255)
    domain = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="Website domain, e.g. acme.com."
    )
    linkedin_url = models.URLField(max_length=300, blank=True)
    industry = models.CharField(max_length=120, blank=True)
    # Matching keys, kept in step with the fields above by save() and the bulk loaders.
    name_key = models.CharField(max_length=255, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the row was created or a load last changed it: the import checks the CRM contacts
    # of companies and members changed since its last run (``sync.flags``).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.refresh_keys()
        super().save(*args, **kwargs)

    def refresh_keys(self) -> None:
        self.domain = normalize_domain(self.domain)
        self.name_key = self.name_key_for(self.name)

    @staticmethod
    def name_key_for(name: str) -> str:
        """The key companies are matched on by name (the bulk loader fills it the same way)."""
        return normalize_company(name)


class Member(models.Model):
    """A person in the network (a LinkedIn member, in the seed's words)."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    headline = models.CharField(max_length=255, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    company_name = models.CharField(max_length=255, blank=True, help_text="As the member wrote it.")
    email = models.EmailField(blank=True, db_index=True, help_text="Where known.")
    profile_url = models.URLField(max_length=300, unique=True)
    # Matching keys, kept in step with the fields above by save() and the bulk loaders.
    profile_key = models.CharField(max_length=300, db_index=True, editable=False)
    name_key = models.CharField(max_length=400, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # As for companies: when the row was created or a load last changed it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.full_name

    def save(self, *args, **kwargs):
        self.refresh_keys()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def refresh_keys(self) -> None:
        self.email, self.profile_url, self.profile_key, self.name_key = self.keys_for(
            self.first_name, self.last_name, self.company_name, self.email, self.profile_url
        )

    @staticmethod
    def keys_for(
        first_name: str, last_name: str, company_name: str, email: str, profile_url: str
    ) -> tuple[str, str, str, str]:
        """(email, profile_url, profile_key, name_key) as stored: the normalised email and the
        matching keys. The bulk loader fills them the same way, without model instances."""
        return (
            normalize_email(email),
            profile_url,
            normalize_profile_url(profile_url),
            person_key(first_name, last_name, company_name),
        )


class SavedQuerySet(models.QuerySet):
    def from_crm(self):
        return self.filter(from_crm=True)

    def for_seat(self, seat):
        return self.filter(seat=seat)


class _Saved(models.Model):
    """What saved accounts and leads share: who saved it, by hand and/or from the CRM."""

    # No index of its own: the (seat, from_crm) index and the once-per-seat constraint both
    # start with the seat, and every imported save is one more entry per index to write.
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+", db_index=False)
    saved_by_hand = models.BooleanField(default=False)
    from_crm = models.BooleanField(default=False, help_text="Imported from the CRM by the sync.")
    crm_record_id = models.UUIDField(
        null=True, blank=True, help_text="The Dynamics record the import saved it from."
    )
    saved_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = SavedQuerySet.as_manager()

    class Meta:
        abstract = True


class SavedAccount(_Saved):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="saves")

    class Meta:
        ordering = ["company__name"]
        constraints = [
            models.UniqueConstraint(fields=["seat", "company"], name="saved_account_once_per_seat"),
            models.CheckConstraint(
                condition=models.Q(saved_by_hand=True) | models.Q(from_crm=True),
                name="saved_account_has_a_reason",
            ),
        ]
        indexes = [models.Index(fields=["seat", "from_crm"])]

    def __str__(self):
        return f"{self.company} saved by {self.seat_id}"


class SavedLead(_Saved):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="saves")

    class Meta:
        ordering = ["member__last_name", "member__first_name"]
        constraints = [
            models.UniqueConstraint(fields=["seat", "member"], name="saved_lead_once_per_seat"),
            models.CheckConstraint(
                condition=models.Q(saved_by_hand=True) | models.Q(from_crm=True),
                name="saved_lead_has_a_reason",
            ),
        ]
        indexes = [models.Index(fields=["seat", "from_crm"])]

    def __str__(self):
        return f"{self.member} saved by {self.seat_id}"
