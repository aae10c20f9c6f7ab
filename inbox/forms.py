"""Forms for writing InMails, messages and notes, shared by the pages and the mobile API.

The copy checkbox exists only where the contract copies the item's type: "items of types not
selected by the admin, or with writeback off, show no checkbox".
"""

from django import forms
from django.core.exceptions import ValidationError

from inbox.models import INMAIL_SUBJECT_MAX, MESSAGE_BODY_MAX, NOTE_BODY_MAX, Thread
from network.models import Company, Member

COPY_MESSAGE_LABEL = "Copy message to CRM"
COPY_NOTE_LABEL = "Copy to CRM"


class CopyForm(forms.Form):
    """A form ending with the item's copy checkbox, when there is one."""

    copy_to_crm = forms.BooleanField(required=False)

    def __init__(self, *args, copy_shown: bool, copy_label: str = COPY_MESSAGE_LABEL, **kwargs):
        super().__init__(*args, **kwargs)
        # Last, under what it copies: popping and re-adding moves it to the end of the form.
        checkbox = self.fields.pop("copy_to_crm")
        if copy_shown:
            checkbox.label = copy_label
            self.fields["copy_to_crm"] = checkbox

    @property
    def wants_copy(self) -> bool:
        """The checkbox's value once valid; False where the form has no checkbox."""
        return self.cleaned_data.get("copy_to_crm", False)


class ComposeForm(CopyForm):
    """A new InMail (with a subject) or message to a network member.

    Its *Copy message to CRM* also starts a new thread's *Copy thread to CRM*, so the replies to a
    copied message are copied too.
    """

    member_id = forms.ModelChoiceField(
        Member.objects.all(),
        label="To",
        widget=forms.HiddenInput,
        error_messages={
            "required": "Choose who to write to.",
            "invalid_choice": "That member does not exist. Choose someone from the list.",
        },
    )
    subject = forms.CharField(
        max_length=INMAIL_SUBJECT_MAX,
        error_messages={"required": "An InMail needs a subject."},
    )
    body = forms.CharField(
        label="Message",
        max_length=MESSAGE_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Write your message."},
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        if kind != Thread.Kind.INMAIL:
            del self.fields["subject"]


class ReplyForm(CopyForm):
    body = forms.CharField(
        label="Message",
        max_length=MESSAGE_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write your reply."},
    )


class NoteForm(CopyForm):
    body = forms.CharField(
        label="Note",
        max_length=NOTE_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write your note."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, copy_label=COPY_NOTE_LABEL, **kwargs)


class NoteOnForm(NoteForm):
    """A note that names what it is on: a lead (``member_id``) or an account (``company_id``)."""

    member_id = forms.ModelChoiceField(
        Member.objects.all(),
        required=False,
        error_messages={"invalid_choice": "There is no member with this id."},
    )
    company_id = forms.ModelChoiceField(
        Company.objects.all(),
        required=False,
        error_messages={"invalid_choice": "There is no company with this id."},
    )

    def clean(self):
        cleaned = super().clean()
        one_target = bool(cleaned.get("member_id")) != bool(cleaned.get("company_id"))
        if not one_target and not self.has_error("member_id") and not self.has_error("company_id"):
            raise ValidationError("Give either member_id (a lead) or company_id (an account).")
        return cleaned


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Device name",
        max_length=100,
        help_text="Which phone or tablet this token is for, e.g. “Work iPhone”.",
        error_messages={"required": "Name the device, so you can tell your tokens apart."},
    )


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on the field it names when the form has it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
