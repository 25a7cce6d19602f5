"""Operations that span every app (retention): above all apps in the layer order (docs/architecture.md)."""
