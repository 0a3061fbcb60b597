"""Training a challenger: the preprocessing + estimator pipeline, time-ordered slices of
matured labels and the recipe fits (`pipeline`)."""
