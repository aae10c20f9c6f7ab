def tenancy(request):
    """The current seat and contract, for the navigation in ``base.html``."""
    return {
        "current_seat": getattr(request, "seat", None),
        "current_contract": getattr(request, "contract", None),
    }
