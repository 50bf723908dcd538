//! The in-memory index over every loaded list, and the search.
//!
//! Layout (compact for a million entities: `u32` ids, interned tokens, flat arrays with start
//! offsets instead of a `Vec` per entity):
//! - tokens are interned once (`token_text`, with their Double Metaphone codes);
//! - a *name* is a run of token ids in `name_tokens`; names point to their entity;
//! - the inverted index maps a *key* to the sorted ids of the names that have a token with
//!   that key. A token's keys: its Double Metaphone primary and alternate codes, and its first
//!   [`PREFIX_LEN`] letters. The phonetic keys find spelling variants ("Sydorov"), the prefix
//!   keys typos that change the sound past the first letters.
//!
//! Search never scans all entities. A hit needs the shorter name's tokens all matched, so a
//! candidate must share keys with at least two query tokens (one, for a one-token query). Every
//! such name is in the posting lists of a token other than the query's most frequent one
//! (a common given name: "mohammed", "ivan"): those lists are enumerated, and the most frequent
//! token's lists only probed, by binary search, for the names found. Each candidate is weighted
//! by the inverse document frequency of the query tokens it shares; the best `max_candidates`
//! names are then scored in full (see `score`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::lists::{BirthDate, Entry, HitKind, ListVersion, LoadedList};
use super::normalise::{pack, phonetic, tokens, PhoneticCode};
use super::query::{Hit, ScreeningQuery};
use super::score::{
    dob_evidence, evaluate, name_score, nationality_evidence, token_similarity, NameScore, Token,
};

/// Letters of a token's prefix key.
const PREFIX_LEN: usize = 4;
/// Query tokens considered at all: a name is not longer.
const MAX_QUERY_TOKENS: usize = 32;

const KEY_PHONETIC: u64 = 1 << 56;
const KEY_PREFIX: u64 = 2 << 56;

/// A multiplicative hasher for integer keys (Fibonacci hashing, Knuth TAOCP 6.4): the keys
/// here are ids and packed codes, not attacker-chosen strings, and SipHash would dominate the
/// candidate counting.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Every list in force, indexed. Immutable once built; a reload builds a new one.
///
/// Memory: [`ScreeningLists::index_bytes`] (about 115 MiB for a million synthetic persons),
/// plus one byte per indexed name in each thread that screens (candidate counting scratch).
pub struct ScreeningLists {
    versions: Vec<ListVersion>,
    token_ids: HashMap<Box<str>, u32>,
    token_text: Vec<Box<str>>,
    token_phonetic: Vec<[PhoneticCode; 2]>,
    name_start: Vec<u32>,
    name_tokens: Vec<u32>,
    name_entity: Vec<u32>,
    key_ids: IdMap<u64, u32>,
    key_start: Vec<u32>,
    postings: Vec<u32>,
    entity_id_start: Vec<u32>,
    entity_id_text: String,
    entity_list: Vec<u16>,
    entity_kind: Vec<HitKind>,
    dob_start: Vec<u32>,
    dobs: Vec<BirthDate>,
    nationality_start: Vec<u32>,
    nationalities: Vec<[u8; 2]>,
}

impl std::fmt::Debug for ScreeningLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreeningLists")
            .field("versions", &self.versions)
            .field("entities", &self.entities())
            .field("names", &self.name_entity.len())
            .field("tokens", &self.token_text.len())
            .field("keys", &self.key_ids.len())
            .finish()
    }
}

/// What building the index counts before the postings are laid out.
#[derive(Debug, Default)]
struct KeyCounts {
    /// Per token: its key ids (u32::MAX for none).
    token_keys: Vec<[u32; 3]>,
    /// Per key: how many names post it.
    key_count: Vec<u32>,
}

fn offset(n: usize) -> u32 {
    // Lists beyond 4 G names or postings are refused in `build`; this never saturates there.
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ScreeningLists {
    /// No list at all: screening is *not performed*.
    pub fn empty() -> Self {
        Self::build(Vec::new())
    }

    /// Index entries built in memory (another format, tests, benchmarks) under `version`,
    /// whose `entities` is set to the number of entries indexed.
    pub fn from_entries(version: ListVersion, entries: Vec<Entry>) -> Self {
        Self::build(vec![LoadedList { version, entries }])
    }

    pub(crate) fn build(lists: Vec<LoadedList>) -> Self {
        let mut me = Self::with_lists(lists.len());
        // Per token: its key ids (u32::MAX for none), filled as tokens are interned; per key:
        // how many names it posts.
        let mut keys = KeyCounts::default();
        for (list_no, list) in lists.into_iter().enumerate() {
            let list_no = u16::try_from(list_no).unwrap_or(u16::MAX);
            let mut version = list.version;
            let listed = list.entries.len();
            let indexed_before = me.entity_list.len();
            for entry in list.entries {
                me.add_entry(entry, list_no, &mut keys);
            }
            // An entry none of whose names has a letter or digit left after transliteration
            // cannot be screened: counted as skipped, not as screened.
            let indexed = me.entity_list.len() - indexed_before;
            version.entities = offset(indexed);
            version.skipped = version.skipped.saturating_add(offset(listed - indexed));
            me.versions.push(version);
        }
        me.fill_postings(&keys);
        me.shrink_to_fit();
        me
    }

    /// An empty index with room for `lists` versions.
    fn with_lists(lists: usize) -> Self {
        Self {
            versions: Vec::with_capacity(lists),
            token_ids: HashMap::new(),
            token_text: Vec::new(),
            token_phonetic: Vec::new(),
            name_start: vec![0],
            name_tokens: Vec::new(),
            name_entity: Vec::new(),
            key_ids: IdMap::default(),
            key_start: Vec::new(),
            postings: Vec::new(),
            entity_id_start: vec![0],
            entity_id_text: String::new(),
            entity_list: Vec::new(),
            entity_kind: Vec::new(),
            dob_start: vec![0],
            dobs: Vec::new(),
            nationality_start: vec![0],
            nationalities: Vec::new(),
        }
    }

    /// Index `entry` of list `list_no`: its names (tokens interned, key counts raised), then
    /// the entity itself, unless no name has anything to screen.
    fn add_entry(&mut self, entry: Entry, list_no: u16, counts: &mut KeyCounts) {
        let entity = offset(self.entity_list.len());
        let mut any_name = false;
        for name in &entry.names {
            let toks = tokens(name);
            if toks.is_empty() {
                continue;
            }
            any_name = true;
            let mut keys: Vec<u32> = Vec::with_capacity(toks.len() * 3);
            for t in toks {
                let id = self.intern(t, &mut counts.token_keys, &mut counts.key_count);
                self.name_tokens.push(id);
                if let Some(k) = counts.token_keys.get(id as usize) {
                    keys.extend(k.iter().filter(|k| **k != u32::MAX));
                }
            }
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                if let Some(c) = counts.key_count.get_mut(k as usize) {
                    *c += 1;
                }
            }
            self.name_start.push(offset(self.name_tokens.len()));
            self.name_entity.push(entity);
        }
        if !any_name {
            return;
        }
        self.entity_id_text.push_str(&entry.id);
        self.entity_id_start.push(offset(self.entity_id_text.len()));
        self.entity_list.push(list_no);
        self.entity_kind.push(entry.kind);
        self.dobs.extend(entry.birth_dates);
        self.dob_start.push(offset(self.dobs.len()));
        self.nationalities.extend(entry.nationalities);
        self.nationality_start
            .push(offset(self.nationalities.len()));
    }

    /// Postings in CSR form: counts to start offsets, then a second pass over the names fills
    /// them; names are visited in id order, so every posting list comes out sorted.
    fn fill_postings(&mut self, counts: &KeyCounts) {
        self.key_start = Vec::with_capacity(counts.key_count.len() + 1);
        let mut total = 0u32;
        self.key_start.push(0);
        for c in &counts.key_count {
            total = total.saturating_add(*c);
            self.key_start.push(total);
        }
        self.postings = vec![0; total as usize];
        let mut fill: Vec<u32> = self.key_start.clone();
        let mut keys: Vec<u32> = Vec::new();
        for name in 0..self.name_entity.len() {
            keys.clear();
            for &t in self.name_token_ids(name) {
                if let Some(k) = counts.token_keys.get(t as usize) {
                    keys.extend(k.iter().filter(|k| **k != u32::MAX));
                }
            }
            keys.sort_unstable();
            keys.dedup();
            for &k in &keys {
                if let Some(slot) = fill.get_mut(k as usize) {
                    if let Some(p) = self.postings.get_mut(*slot as usize) {
                        *p = offset(name);
                    }
                    *slot += 1;
                }
            }
        }
    }

    fn shrink_to_fit(&mut self) {
        self.token_ids.shrink_to_fit();
        self.token_text.shrink_to_fit();
        self.token_phonetic.shrink_to_fit();
        self.name_start.shrink_to_fit();
        self.name_tokens.shrink_to_fit();
        self.name_entity.shrink_to_fit();
        self.key_ids.shrink_to_fit();
        self.entity_id_start.shrink_to_fit();
        self.entity_id_text.shrink_to_fit();
        self.entity_list.shrink_to_fit();
        self.entity_kind.shrink_to_fit();
        self.dob_start.shrink_to_fit();
        self.dobs.shrink_to_fit();
        self.nationality_start.shrink_to_fit();
        self.nationalities.shrink_to_fit();
    }

    fn intern(
        &mut self,
        token: String,
        token_keys: &mut Vec<[u32; 3]>,
        key_count: &mut Vec<u32>,
    ) -> u32 {
        if let Some(id) = self.token_ids.get(token.as_str()) {
            return *id;
        }
        let id = offset(self.token_text.len());
        let codes = phonetic(&token);
        let mut keys = [u32::MAX; 3];
        // A one-letter token (an initial) is not indexed: it would match a twenty-sixth of
        // every list.
        if token.len() > 1 {
            for (slot, key) in keys.iter_mut().zip(token_keys_of(&token, codes)) {
                if let Some(key) = key {
                    let next = offset(self.key_ids.len());
                    let kid = *self.key_ids.entry(key).or_insert(next);
                    if kid == next {
                        key_count.push(0);
                    }
                    *slot = kid;
                }
            }
        }
        token_keys.push(keys);
        self.token_phonetic.push(codes);
        let boxed: Box<str> = token.into_boxed_str();
        self.token_text.push(boxed.clone());
        self.token_ids.insert(boxed, id);
        id
    }

    fn name_token_ids(&self, name: usize) -> &[u32] {
        let start = self.name_start.get(name).copied().unwrap_or(0) as usize;
        let end = self.name_start.get(name + 1).copied().unwrap_or(0) as usize;
        self.name_tokens.get(start..end).unwrap_or_default()
    }

    fn postings_of(&self, key: u64) -> &[u32] {
        let Some(&k) = self.key_ids.get(&key) else {
            return &[];
        };
        let start = self.key_start.get(k as usize).copied().unwrap_or(0) as usize;
        let end = self.key_start.get(k as usize + 1).copied().unwrap_or(0) as usize;
        self.postings.get(start..end).unwrap_or_default()
    }

    fn slice<T>(starts: &[u32], data: &[T], i: usize) -> std::ops::Range<usize> {
        let start = starts.get(i).copied().unwrap_or(0) as usize;
        let end = starts.get(i + 1).copied().unwrap_or(0) as usize;
        start.min(data.len())..end.min(data.len())
    }

    fn entity_id(&self, entity: usize) -> &str {
        let r = Self::slice(
            &self.entity_id_start,
            self.entity_id_text.as_bytes(),
            entity,
        );
        self.entity_id_text.get(r).unwrap_or_default()
    }

    /// The lists in force, in configuration order.
    pub fn versions(&self) -> &[ListVersion] {
        &self.versions
    }

    /// Entities indexed, over all lists.
    pub fn entities(&self) -> usize {
        self.entity_list.len()
    }

    /// Names indexed (an entity has one for each alias).
    pub fn names(&self) -> usize {
        self.name_entity.len()
    }

    /// Heap bytes held by the index, estimated from its structures' capacities (hash maps
    /// counted as their buckets plus one control byte each).
    pub fn index_bytes(&self) -> usize {
        use std::mem::size_of;
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * size_of::<T>()
        }
        let token_strings: usize = self.token_text.iter().map(|t| t.len()).sum();
        let token_map = self.token_ids.capacity() * (size_of::<(Box<str>, u32)>() + 1);
        let key_map = self.key_ids.capacity() * (size_of::<(u64, u32)>() + 1);
        // Each token's text is held twice (the map's key and `token_text`).
        2 * token_strings
            + token_map
            + key_map
            + vec(&self.token_text)
            + vec(&self.token_phonetic)
            + vec(&self.name_start)
            + vec(&self.name_tokens)
            + vec(&self.name_entity)
            + vec(&self.key_start)
            + vec(&self.postings)
            + vec(&self.entity_id_start)
            + self.entity_id_text.capacity()
            + vec(&self.entity_list)
            + vec(&self.entity_kind)
            + vec(&self.dob_start)
            + vec(&self.dobs)
            + vec(&self.nationality_start)
            + vec(&self.nationalities)
            + vec(&self.versions)
    }

    /// Screen one query: the hits at `threshold`, best first, considering at most
    /// `max_candidates` names; and the number of tokens the query's name normalised to.
    pub(crate) fn search(
        &self,
        query: &ScreeningQuery,
        threshold: f64,
        max_candidates: usize,
    ) -> (Vec<Hit>, usize) {
        let mut q_tokens = tokens(&format!("{} {}", query.given_name, query.family_name));
        q_tokens.truncate(MAX_QUERY_TOKENS);
        let q: Vec<Token<'_>> = q_tokens
            .iter()
            .map(|t| Token {
                text: t,
                phonetic: phonetic(t),
            })
            .collect();
        let candidates = self.candidates(&q, max_candidates);
        let best = self.best_names(&q, candidates);
        let mut hits = self.hits(query, best, threshold);
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.list.cmp(&b.list))
                .then_with(|| a.entity_id.cmp(&b.entity_id))
        });
        (hits, q.len())
    }

    /// The best-scoring name of each entity among the `candidates` (name ids), for the query
    /// tokens `q`.
    fn best_names(&self, q: &[Token<'_>], candidates: Vec<u32>) -> IdMap<u32, (NameScore, u32)> {
        // Token similarities repeat across candidates (common names): computed once each.
        let mut memo: IdMap<(usize, u32), f64> = IdMap::default();
        let mut best: IdMap<u32, (NameScore, u32)> = IdMap::default();
        for name in candidates {
            let ids = self.name_token_ids(name as usize);
            let c: Vec<Token<'_>> = ids
                .iter()
                .map(|&t| Token {
                    text: self.token_text.get(t as usize).map_or("", |s| s),
                    phonetic: self
                        .token_phonetic
                        .get(t as usize)
                        .copied()
                        .unwrap_or_default(),
                })
                .collect();
            let s = name_score(q, &c, |i, j| {
                let tid = ids.get(j).copied().unwrap_or(u32::MAX);
                *memo
                    .entry((i, tid))
                    .or_insert_with(|| match (q.get(i), c.get(j)) {
                        (Some(a), Some(b)) => token_similarity(*a, *b),
                        _ => 0.0,
                    })
            });
            let entity = self.name_entity.get(name as usize).copied().unwrap_or(0);
            let e = best.entry(entity).or_insert((s, name));
            if s.score > e.0.score || (s.score == e.0.score && name < e.1) {
                *e = (s, name);
            }
        }

        best
    }

    /// The entities of `best` that are hits at `threshold`, with the query's birth date and
    /// nationality as evidence.
    fn hits(
        &self,
        query: &ScreeningQuery,
        best: IdMap<u32, (NameScore, u32)>,
        threshold: f64,
    ) -> Vec<Hit> {
        let nationality = query
            .nationality
            .as_deref()
            .and_then(|n| match n.as_bytes() {
                [a, b] => Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()]),
                _ => None,
            });
        let mut hits = Vec::new();
        for (entity, (name, name_id)) in best {
            let entity = entity as usize;
            let dobs = &self.dobs[Self::slice(&self.dob_start, &self.dobs, entity)];
            let nats = &self.nationalities
                [Self::slice(&self.nationality_start, &self.nationalities, entity)];
            let eval = evaluate(
                name,
                dob_evidence(query.birth_date, dobs),
                nationality_evidence(nationality, nats),
                threshold,
            );
            if !eval.hit {
                continue;
            }
            let list_no = self.entity_list.get(entity).copied().unwrap_or(0) as usize;
            hits.push(Hit {
                list: self
                    .versions
                    .get(list_no)
                    .map(|v| v.list.clone())
                    .unwrap_or_default(),
                entity_id: self.entity_id(entity).to_owned(),
                kind: self
                    .entity_kind
                    .get(entity)
                    .copied()
                    .unwrap_or(HitKind::Sanction),
                // Four decimals: the score is recorded, and must not vary in the last bits.
                score: (eval.score * 10_000.0).round() / 10_000.0,
                reasons: eval.reasons.iter().map(|r| (*r).to_owned()).collect(),
                name: self
                    .name_token_ids(name_id as usize)
                    .iter()
                    .map(|&t| self.token_text.get(t as usize).map_or("", |s| s.as_ref()))
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        hits
    }

    /// Candidate name ids for the query tokens, best `max` first.
    fn candidates(&self, q: &[Token<'_>], max: usize) -> Vec<u32> {
        let per_token = self.token_postings(q);
        // The indexed tokens, rarest first; the rarest MASK_BITS of them drive the search.
        let mut order: Vec<usize> = (0..per_token.len())
            .filter(|&i| per_token.get(i).is_some_and(|t| t.1 > 0))
            .collect();
        order.sort_by_key(|&i| (per_token.get(i).map_or(0, |t| t.1), i));
        order.truncate(MASK_BITS);
        let driving: Vec<(&[&[u32]], f32)> = order
            .iter()
            .filter_map(|&ti| per_token.get(ti))
            .map(|t| (t.0.as_slice(), t.2))
            .collect();
        self.ranked(&driving, max)
    }

    /// Per query token: the posting lists of its keys, their total size, its weight.
    fn token_postings(&self, q: &[Token<'_>]) -> Vec<(Vec<&[u32]>, usize, f32)> {
        let names = self.name_entity.len() as f64;
        q.iter()
            .map(|t| {
                if t.text.len() < 2 {
                    return (Vec::new(), 0, 0.0);
                }
                let lists: Vec<&[u32]> = token_keys_of(t.text, t.phonetic)
                    .into_iter()
                    .flatten()
                    .map(|k| self.postings_of(k))
                    .filter(|l| !l.is_empty())
                    .collect();
                let size: usize = lists.iter().map(|l| l.len()).sum();
                // Inverse document frequency: rare tokens say more.
                let idf = (1.0 + names / (1.0 + size as f64)).ln() as f32;
                (lists, size, idf)
            })
            .collect()
    }

    /// The names that share a key with enough of the `driving` tokens (their posting lists and
    /// weights, rarest first), best `max` by summed weight.
    fn ranked(&self, driving: &[(&[&[u32]], f32)], max: usize) -> Vec<u32> {
        let lists_of = |rank: usize| driving.get(rank).map_or(&[][..], |d| d.0);
        let weights: Vec<f32> = driving.iter().map(|d| d.1).collect();
        // A hit needs every token of the shorter name partnered (see `score`), so when two or
        // more query tokens are indexed, a candidate must share a key with at least two of
        // them. Every such name is in the lists of some token other than the most frequent
        // one: those lists are enumerated, the most frequent token's only probed (binary
        // search) for the names found. A common given name never fills the candidate set.
        let required = if driving.len() >= 2 { 2 } else { 1 };
        let enumerated = if driving.len() >= 2 {
            driving.len() - 1
        } else {
            driving.len()
        };
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let Scratch { mask, touched } = &mut *scratch;
            // Left dirty only by a panic in a previous search: cleaned before use.
            for &n in touched.iter() {
                if let Some(m) = mask.get_mut(n as usize) {
                    *m = 0;
                }
            }
            touched.clear();
            if mask.len() < self.name_entity.len() {
                mask.resize(self.name_entity.len(), 0);
            }
            for rank in 0..enumerated {
                let bit = 1u8 << rank;
                for list in lists_of(rank) {
                    for &n in *list {
                        if let Some(m) = mask.get_mut(n as usize) {
                            if *m == 0 {
                                touched.push(n);
                            }
                            *m |= bit;
                        }
                    }
                }
            }
            if enumerated < driving.len() {
                let bit = 1u8 << enumerated;
                let lists = lists_of(enumerated);
                for &n in touched.iter() {
                    if lists.iter().any(|l| l.binary_search(&n).is_ok()) {
                        if let Some(m) = mask.get_mut(n as usize) {
                            *m |= bit;
                        }
                    }
                }
            }
            let mut ranked: Vec<(f32, u32)> = Vec::new();
            for &n in touched.iter() {
                let Some(m) = mask.get_mut(n as usize) else {
                    continue;
                };
                if m.count_ones() >= required {
                    let w: f32 = weights
                        .iter()
                        .enumerate()
                        .filter(|(rank, _)| *m & (1u8 << rank) != 0)
                        .map(|(_, w)| *w)
                        .sum();
                    ranked.push((w, n));
                }
                *m = 0;
            }
            touched.clear();
            let by_rank = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if ranked.len() > max && max > 0 {
                ranked.select_nth_unstable_by(max - 1, by_rank);
                ranked.truncate(max);
            }
            ranked.sort_by(by_rank);
            ranked.into_iter().map(|(_, n)| n).collect()
        })
    }
}

/// Query tokens that drive candidate generation (the rarest ones): a bit each in [`Scratch`].
const MASK_BITS: usize = 8;

/// Per-thread scratch for candidate counting: one byte per name (which of the driving query
/// tokens it shares a key with), and the names touched, so only those are reset. Dense,
/// because posting lists are sorted by name id and walking them touches the array in order;
/// a hash map here cost ten times as much. One byte per indexed name per thread that screens.
#[derive(Default)]
struct Scratch {
    mask: Vec<u8>,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// A token's index keys: its phonetic codes (the alternate only when it differs) and its
/// prefix.
fn token_keys_of(token: &str, codes: [PhoneticCode; 2]) -> [Option<u64>; 3] {
    let [primary, alternate] = codes;
    let prefix = token.get(..PREFIX_LEN.min(token.len())).unwrap_or(token);
    [
        (primary != 0).then_some(KEY_PHONETIC | primary),
        (alternate != 0 && alternate != primary).then_some(KEY_PHONETIC | alternate),
        Some(KEY_PREFIX | pack(prefix)),
    ]
}
