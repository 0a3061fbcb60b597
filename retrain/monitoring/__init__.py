"""The monitoring metric set of one window (`metric_set`): the champion's outputs scored
once (`scoring`; `window_scan` reads the window once, in batches), its quality on matured
labels (`quality`), its outputs (`outputs`, per class `class_outputs`), inputs and traffic
(`traffic`), the CBPE estimate while labels are delayed (`estimate`, `estimate_base`,
`estimate_multiclass`) and the model's monitoring history in MLflow (`history`)."""
