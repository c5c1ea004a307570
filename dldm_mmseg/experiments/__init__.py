"""What the demo and the alpha sweep build their reports from: reusable
segmentor runs per alpha (``alpha_sweep``), measurements of a synthetic set
(``analysis``) and tables and figures (``report``)."""
