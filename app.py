"""Start the minutes assistant web UI: ``python app.py``.

Settings come from MINUTES_RAG_* environment variables (and ./.env): MINUTES_RAG_HOST
(default 127.0.0.1), MINUTES_RAG_PORT (7860), MINUTES_RAG_AUTH ("user:password" enables a
login), MINUTES_RAG_CORPUS_DIR, MINUTES_RAG_INDEX_DIR, ...
"""

from rag.ui import main

if __name__ == "__main__":
    main()
