"""Testing: mass pooled screening — daily plans, tubes and their members, laboratory results,
and what a positive pool sets off (holds, single-tube retests, case candidates, referral needs)."""
