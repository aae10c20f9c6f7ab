"""The alert-email settings of one admin."""

from django import forms

from alerts.models import AlertPreferences, Kind

EACH, DIGEST = "each", "digest"


class AlertPreferencesForm(forms.Form):
    """One checkbox per kind ("Email me when ..."), and each alert at once or a daily digest."""

    delivery = forms.ChoiceField(
        label="How to email you",
        choices=[
            (EACH, "An email when something goes wrong, and one when it is back to normal"),
            (DIGEST, "One daily digest of what is wrong and what was fixed"),
        ],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, preferences: AlertPreferences, **kwargs):
        initial = {"delivery": DIGEST if preferences.daily_digest else EACH}
        for kind in Kind:
            initial[self.field_name(kind)] = preferences.wants(kind)
        super().__init__(*args, initial=initial, **kwargs)
        for kind in Kind:
            self.fields[self.field_name(kind)] = forms.BooleanField(
                label=f"Email me when {kind.label}", required=False
            )

    @staticmethod
    def field_name(kind: str) -> str:
        return f"email_{kind}"

    def kind_fields(self):
        return [self[self.field_name(kind)] for kind in Kind]

    def wanted_kinds(self) -> set[str]:
        return {kind.value for kind in Kind if self.cleaned_data[self.field_name(kind)]}

    @property
    def daily_digest(self) -> bool:
        return self.cleaned_data["delivery"] == DIGEST
