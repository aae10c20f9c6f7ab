"""allauth adapters: the portal is invitation-only.

People get an account when an admin gives them a seat (or assigns one from the CRM), never by
signing up themselves; Microsoft sign-in only logs in users who already exist.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False


class InviteOnlySocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False
