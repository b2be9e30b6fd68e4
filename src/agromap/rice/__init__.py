"""Rice crop area: phenology rules, supervised classification, accuracy and area estimation."""
