"""Cross-district referrals (協查): push a person to the district that must find and control."""
