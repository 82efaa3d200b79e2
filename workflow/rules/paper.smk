# Regenerated paper documents (filled in by the verification/paper pipeline).


def paper_targets():
    """LaTeX documents (and PDFs where latexmk exists) of the selected papers."""
    return []
