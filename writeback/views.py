from django.shortcuts import render

from seats.access import seat_holder_required


@seat_holder_required
def inbox(request):
    """The seat holder's InMail and message threads."""
    return render(request, "writeback/inbox.html", {"nav": "inbox"})
