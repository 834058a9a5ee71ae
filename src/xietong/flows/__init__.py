"""Use cases that span domains: each module runs one of them in the caller's transaction.

`intake`: laboratory results → screening, then the consumers of what they produced (cases,
referrals). `screening`: the plan of a day from the zones' high-risk set and screening's plan.
"""
