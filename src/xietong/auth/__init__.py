"""Access control: users, roles, jurisdictions, API tokens and the audit trail."""
