"""Links that open a record in Dynamics: ``{% crm_record_url connection "contact" crm_id %}``."""

from django import template

register = template.Library()


@register.simple_tag
def crm_record_url(connection, logical_name: str, record_id) -> str:
    """The record's page in Dynamics, or "" when the contract is not connected or has no id."""
    if connection is None or not record_id:
        return ""
    return connection.record_url(logical_name, record_id)
