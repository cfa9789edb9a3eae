"""A tenant's fiscal settings: who issues its notas fiscais, and what they say of it."""
