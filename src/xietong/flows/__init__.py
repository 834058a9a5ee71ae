"""Use cases that span domains: each module runs one of them in the caller's transaction.

`intake`: laboratory results → screening, then the consumers of what they produced (cases,
referrals). `screening`: the plan of a day from the zones' high-risk set and screening's plan.
`referrals`: the referral needs of every domain turned into referrals. `contacts`, `line_lists`:
close contacts and line lists with the referrals they need. `duplicates`: two records of one
person merged across every domain. `retention`: persons past the retention period pseudonymised.
"""
