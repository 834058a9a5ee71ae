"""The daily bulletin (疫情通报): its figures from the store, its text in the official form."""
