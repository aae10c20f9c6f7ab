"""Forms of a person's own account pages."""

from django import forms

from seats.timezones import zone_names


class TimeZoneForm(forms.Form):
    """*Time zone*: one of the IANA zones, or "" to follow the browser's."""

    time_zone = forms.ChoiceField(
        label="Show times in",
        required=False,
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )

    def __init__(self, *args, browser_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        browser = (
            f"Your browser's time zone ({browser_zone})"
            if browser_zone
            else ("Your browser's time zone")
        )
        self.fields["time_zone"].choices = [("", browser), *((z, z) for z in zone_names())]
