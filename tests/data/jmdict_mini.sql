-- A few JMdict entries in jamdict-data's schema (the tables rag/jmdict.py reads), written by
-- hand for tests: tests/test_translate.py builds an SQLite file from it.
CREATE TABLE Sense (ID INTEGER PRIMARY KEY, idseq INTEGER);
CREATE TABLE SenseGloss (sid INTEGER, lang TEXT, gend TEXT, text TEXT);
CREATE TABLE misc (sid INTEGER, text TEXT);
CREATE TABLE pos (sid INTEGER, text TEXT);
CREATE TABLE Kanji (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT);
CREATE TABLE Kana (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT, nokanji BOOLEAN);
CREATE TABLE KJP (kid INTEGER, text TEXT);
CREATE TABLE KNP (kid INTEGER, text TEXT);
CREATE INDEX SenseGloss_text ON SenseGloss(text);

-- 規制: common, "regulation" heads its first sense.
INSERT INTO Kanji VALUES (1, 100, '規制');
INSERT INTO KJP VALUES (1, 'ichi1'), (1, 'news1'), (1, 'nf01');
INSERT INTO Sense VALUES (1, 100);
INSERT INTO SenseGloss VALUES (1, 'eng', '', 'regulation'), (1, 'eng', '', 'control');
INSERT INTO pos VALUES (1, 'noun (common) (futsuumeishi)');

-- 規則: common, but "regulation" is its sense's second gloss.
INSERT INTO Kanji VALUES (2, 101, '規則');
INSERT INTO KJP VALUES (2, 'ichi1'), (2, 'news1'), (2, 'nf06');
INSERT INTO Sense VALUES (2, 101);
INSERT INTO SenseGloss VALUES (2, 'eng', '', 'rule'), (2, 'eng', '', 'regulation');
INSERT INTO pos VALUES (2, 'noun (common) (futsuumeishi)');

-- 調整: common and frequent, "regulation" only in its second sense.
INSERT INTO Kanji VALUES (3, 102, '調整');
INSERT INTO KJP VALUES (3, 'news1'), (3, 'nf01');
INSERT INTO Sense VALUES (3, 102), (4, 102);
INSERT INTO SenseGloss VALUES (3, 'eng', '', 'adjustment'), (4, 'eng', '', 'regulation');
INSERT INTO pos VALUES (3, 'noun (common) (futsuumeishi)'), (4, 'noun (common) (futsuumeishi)');

-- 規正: an archaism.
INSERT INTO Kanji VALUES (4, 103, '規正');
INSERT INTO Sense VALUES (5, 103);
INSERT INTO SenseGloss VALUES (5, 'eng', '', 'regulation');
INSERT INTO pos VALUES (5, 'noun (common) (futsuumeishi)');
INSERT INTO misc VALUES (5, 'archaism');

-- テレワーク: kana only, not common.
INSERT INTO Kana VALUES (1, 104, 'テレワーク', 1);
INSERT INTO Sense VALUES (6, 104);
INSERT INTO SenseGloss VALUES (6, 'eng', '', 'telework'), (6, 'eng', '', 'teleworking');
INSERT INTO pos VALUES (6, 'noun (common) (futsuumeishi)');

-- 年金
INSERT INTO Kanji VALUES (5, 105, '年金');
INSERT INTO KJP VALUES (5, 'news1'), (5, 'nf02');
INSERT INTO Sense VALUES (7, 105);
INSERT INTO SenseGloss VALUES (7, 'eng', '', 'pension'), (7, 'eng', '', 'annuity');
INSERT INTO pos VALUES (7, 'noun (common) (futsuumeishi)');

-- 中小企業: a four-word gloss.
INSERT INTO Kanji VALUES (6, 106, '中小企業');
INSERT INTO KJP VALUES (6, 'news1'), (6, 'nf04');
INSERT INTO Sense VALUES (8, 106);
INSERT INTO SenseGloss VALUES (8, 'eng', '', 'small and medium-sized enterprises');
INSERT INTO pos VALUES (8, 'noun (common) (futsuumeishi)');

-- 自治体 (singular gloss) and 市町村 (plural gloss).
INSERT INTO Kanji VALUES (7, 107, '自治体');
INSERT INTO KJP VALUES (7, 'news1'), (7, 'nf02');
INSERT INTO Sense VALUES (9, 107);
INSERT INTO SenseGloss VALUES (9, 'eng', '', 'municipality'), (9, 'eng', '', 'local government');
INSERT INTO pos VALUES (9, 'noun (common) (futsuumeishi)');
INSERT INTO Kanji VALUES (8, 108, '市町村');
INSERT INTO KJP VALUES (8, 'ichi1'), (8, 'nf04');
INSERT INTO Sense VALUES (10, 108);
INSERT INTO SenseGloss VALUES (10, 'eng', '', 'municipalities');
INSERT INTO pos VALUES (10, 'noun (common) (futsuumeishi)');

-- 生き残る: a verb (not a search term); 生存: a suru-noun glossed "to survive".
INSERT INTO Kanji VALUES (9, 109, '生き残る');
INSERT INTO KJP VALUES (9, 'news2'), (9, 'nf43');
INSERT INTO Sense VALUES (11, 109);
INSERT INTO SenseGloss VALUES (11, 'eng', '', 'to survive');
INSERT INTO pos VALUES (11, 'Godan verb with ''ru'' ending');
INSERT INTO Kanji VALUES (10, 110, '生存');
INSERT INTO KJP VALUES (10, 'ichi1'), (10, 'news1'), (10, 'nf07');
INSERT INTO Sense VALUES (12, 110);
INSERT INTO SenseGloss VALUES (12, 'eng', '', 'survival'), (12, 'eng', '', 'to survive');
INSERT INTO pos VALUES (12, 'noun or participle which takes the aux. verb suru');

-- 県: one kanji, too ambiguous to search.
INSERT INTO Kanji VALUES (11, 111, '県');
INSERT INTO KJP VALUES (11, 'ichi1'), (11, 'news1'), (11, 'nf01');
INSERT INTO Sense VALUES (13, 111);
INSERT INTO SenseGloss VALUES (13, 'eng', '', 'prefecture');
INSERT INTO pos VALUES (13, 'noun (common) (futsuumeishi)');

-- 纏め: usually written in kana (まとめ).
INSERT INTO Kanji VALUES (12, 112, '纏め');
INSERT INTO Kana VALUES (2, 112, 'まとめ', 0);
INSERT INTO KNP VALUES (2, 'ichi1');
INSERT INTO Sense VALUES (14, 112);
INSERT INTO SenseGloss VALUES (14, 'eng', '', 'summary');
INSERT INTO pos VALUES (14, 'noun (common) (futsuumeishi)');
INSERT INTO misc VALUES (14, 'word usually written using kana alone');

-- だから: a conjunction ("so"), and メンバー for "member": never looked up.
INSERT INTO Kana VALUES (3, 113, 'だから', 1);
INSERT INTO KNP VALUES (3, 'ichi1');
INSERT INTO Sense VALUES (15, 113);
INSERT INTO SenseGloss VALUES (15, 'eng', '', 'so');
INSERT INTO pos VALUES (15, 'conjunction');
INSERT INTO Kana VALUES (4, 114, 'メンバー', 1);
INSERT INTO KNP VALUES (4, 'gai1');
INSERT INTO Sense VALUES (16, 114);
INSERT INTO SenseGloss VALUES (16, 'eng', '', 'member');
INSERT INTO pos VALUES (16, 'noun (common) (futsuumeishi)');
