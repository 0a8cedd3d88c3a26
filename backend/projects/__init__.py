"""民生实事项目票决制: collection, screening, the deputies' secret vote, delivery."""
