def tenancy(request):
    """The current seat and contract, for the navigation in ``base.html``, and the time zone
    the page's times are written in (``seats.timezones``)."""
    return {
        "current_seat": getattr(request, "seat", None),
        "current_contract": getattr(request, "contract", None),
        "time_zone": getattr(request, "time_zone", ""),
        "time_zone_source": getattr(request, "time_zone_source", ""),
    }
