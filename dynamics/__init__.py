"""Client for the Microsoft Dynamics 365 / Dataverse Web API.

Plain Python (no Django): the portal's sync and writeback code use it, and it is the only code in
the project that speaks HTTP to Dynamics.
"""

from .auth import MsalAuth, StaticTokenAuth
from .batch import ChangeSet, Operation, OperationResult, RolledBack
from .budget import Budget, BudgetReading
from .bulk import BulkResult, BulkWriteFailed
from .client import DynamicsClient
from .environment import DYNAMICS_HOST_SUFFIXES, environment_origin
from .errors import (
    ApiError,
    AuthError,
    ChangeTrackingError,
    ChangeTrackingUnsupported,
    ConnectError,
    DeltaTokenExpired,
    DuplicateRecord,
    DynamicsError,
    EnvironmentUrlRefused,
    MalformedResponse,
    MissingObjectError,
    NotFound,
    PrivilegeError,
    Throttled,
    ValidationFailed,
)
from .http import RetryPolicy, Stats, make_session
from .metadata import Column, Option
from .pages import Page, RowCount

__all__ = [
    "ApiError",
    "AuthError",
    "Budget",
    "BudgetReading",
    "BulkResult",
    "BulkWriteFailed",
    "ChangeSet",
    "ChangeTrackingError",
    "ChangeTrackingUnsupported",
    "Column",
    "ConnectError",
    "DYNAMICS_HOST_SUFFIXES",
    "DeltaTokenExpired",
    "DuplicateRecord",
    "DynamicsClient",
    "DynamicsError",
    "EnvironmentUrlRefused",
    "MalformedResponse",
    "MissingObjectError",
    "MsalAuth",
    "NotFound",
    "Operation",
    "OperationResult",
    "Option",
    "Page",
    "RowCount",
    "PrivilegeError",
    "RetryPolicy",
    "RolledBack",
    "StaticTokenAuth",
    "Stats",
    "Throttled",
    "ValidationFailed",
    "environment_origin",
    "make_session",
]
