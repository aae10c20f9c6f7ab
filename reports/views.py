"""Admin > Reports: won revenue, the match report and the audit trail, each with a CSV export."""
