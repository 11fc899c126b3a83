"""The tutorial's own machinery -- not a recipe, and not for copying: the local
Temporal dev server manager, child processes, the live run view, the offline
stand-in model, the model-call meter and its ledger, the NWS stand-in service,
the notebook set-up and the helpers the notebooks use to read their proofs back
from histories and ledgers."""
