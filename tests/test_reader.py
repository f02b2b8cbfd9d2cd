"""The reader (cross-encoder): its token layout, its hand-written encoder against transformers'
BertModel on the same weights. No reader model is shipped yet (see BENCHMARKS.md, "The
reader"); these keep the groundwork honest for the next training round."""

from __future__ import annotations

import pytest

from rag.reader import MAX_TOKENS, pair_ids, reader_text
from rag.types import Chunk


class _Tok:
    """A stand-in tokenizer: one id per character, <s>=0 and </s>=2 around each text."""

    class _Enc:
        def __init__(self, text: str) -> None:
            self.ids = [0, *(ord(ch) for ch in text), 2]

    def encode(self, text: str) -> _Tok._Enc:
        return self._Enc(text)

    def encode_batch(self, texts: list[str]) -> list[_Tok._Enc]:
        return [self._Enc(t) for t in texts]


def test_pairs_follow_the_xlmr_layout_and_are_cut_at_the_passage_end():
    ids = pair_ids(_Tok(), "問", ["答え", "長" * 1000])
    q = [0, *(ord(c) for c in "query: 問"), 2]
    assert ids[0] == [*q, 2, *(ord(c) for c in "passage: 答え"), 2]
    assert len(ids[1]) == MAX_TOKENS and ids[1][: len(q)] == q and ids[1][-1] == 2


def test_reader_text_puts_the_speaker_and_topic_first():
    c = Chunk(id="m:1:0", meeting_id="m", file="m.txt", title="t", text="検査を拡充します。",
              index_text="", role="首長", start_line=1, end_line=1, order=1,
              role_label="知事", topic="感染症対策")  # fmt: skip
    assert reader_text(c) == "知事 / 感染症対策： 検査を拡充します。"


@pytest.mark.slow
def test_encoder_matches_transformers_bert_on_the_same_weights(settings):
    """The hand-written layers compute what transformers' BertModel computes."""
    import torch
    from transformers import AutoModel

    from rag.embed import default_model_dir
    from rag.reader import base_parts, build_encoder, pad

    config, weights, tok = base_parts(settings)
    enc = build_encoder(config, weights).eval()
    ids, mask = pad(pair_ids(tok, "予算は？", ["実証実験を行った。", "基盤を作る。" * 20]), 1)
    t, m = torch.from_numpy(ids), torch.from_numpy(mask)
    hf = AutoModel.from_pretrained(str(default_model_dir(settings))).eval()
    with torch.inference_mode():
        ours = enc.run(enc.embed(t), m, 0, len(enc.layers))
        theirs = hf(input_ids=t, attention_mask=m.long()).last_hidden_state
    assert float((ours - theirs)[m].abs().max()) < 1e-4
