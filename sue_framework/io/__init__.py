"""Storage: files in and out. Matrices and pairs in every format the command line reads
(`array_files`, `pair_files`), item lists (`item_files`), rows transformed a block at a time
(`npy_transform`), model files (`model_files`), a linear model's map as plain arrays
(`linear_map`), exports to other tools (`export`), shareable folders and the Hub (`hub`), and
the results file of an experiment (`results`).

May import the foundation (errors), the runtime and the core (validation, data, registry);
never model selection, components, methods, evaluation or the command line.
"""
