/* overlap_text.c: words and stems for overlap search (see overlap_text.h). */
#include "overlap_text.h"

#include <stdlib.h>
#include <string.h>

/* Sorted, for bsearch. Common English function words, and the words that
 * every joint project of the Compact uses and so tell projects apart no
 * better than "the" (IDF weighting discounts the rest of the common words). */
static const char *const stop_words[] = {
    "about",   "above",     "after",      "again",    "against", "all",      "also",   "among",
    "an",      "and",       "any",        "are",      "as",      "at",       "be",     "been",
    "before",  "being",     "between",    "both",     "but",     "by",       "can",    "could",
    "did",     "do",        "does",       "during",   "each",    "either",   "for",    "from",
    "further", "had",       "has",        "have",     "having",  "he",       "her",    "here",
    "into",    "is",        "it",         "its",      "joint",   "more",     "most",   "nations",
    "new",     "no",        "nor",        "not",      "of",      "off",      "on",     "once",
    "only",    "or",        "other",      "our",      "out",     "over",     "own",    "per",
    "program", "programme", "programmes", "programs", "project", "projects", "same",   "she",
    "should",  "so",        "some",       "such",     "than",    "that",     "the",    "their",
    "them",    "then",      "there",      "these",    "they",    "this",     "those",  "through",
    "to",      "too",       "un",         "under",    "united",  "until",    "up",     "upon",
    "via",     "was",       "we",         "were",     "what",    "when",     "where",  "which",
    "while",   "who",       "whom",       "why",      "will",    "with",     "within", "without",
    "would",   "you",       "your",
};

static int compare_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int overlap_text_is_stop_word(const char *word)
{
    return bsearch(word, stop_words, sizeof stop_words / sizeof stop_words[0], sizeof stop_words[0],
                   compare_word) != NULL;
}

static int ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

void overlap_text_stem(const char *word, char *out)
{
    size_t n = strlen(word);

    if (n > OVERLAP_TEXT_WORD_MAX)
        n = OVERLAP_TEXT_WORD_MAX;
    memcpy(out, word, n);
    out[n] = '\0';
    /* Plurals. */
    if (n > 4 && ends_with(out, n, "ies")) {
        n -= 3;
        out[n++] = 'y';
    } else if (n > 4 && ends_with(out, n, "sses")) {
        n -= 2;
    } else if (n > 3 && out[n - 1] == 's' && !ends_with(out, n, "ss") && !ends_with(out, n, "us") &&
               !ends_with(out, n, "is")) {
        n -= 1;
    }
    /* One derivational or inflectional ending. */
    if (n > 5 && ends_with(out, n, "ing"))
        n -= 3;
    else if (n > 4 && ends_with(out, n, "ed"))
        n -= 2;
    else if (n > 5 && ends_with(out, n, "ion"))
        n -= 3;
    else if (n > 5 && ends_with(out, n, "ive"))
        n -= 3;
    if (n > 4 && out[n - 1] == 'e')
        n -= 1;
    out[n] = '\0';
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

void overlap_text_words(const char *text, overlap_text_fn fn, void *arg)
{
    char word[OVERLAP_TEXT_WORD_MAX + 1], stem[OVERLAP_TEXT_WORD_MAX + 1];
    const unsigned char *p = (const unsigned char *)text;

    while (*p) {
        while (*p && !is_word_byte(*p))
            p++;
        size_t n = 0, len = 0;
        for (; is_word_byte(*p); p++, len++) {
            if (n < OVERLAP_TEXT_WORD_MAX)
                word[n++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
        }
        word[n] = '\0';
        if (len < 2 || len > OVERLAP_TEXT_WORD_MAX || overlap_text_is_stop_word(word))
            continue;
        overlap_text_stem(word, stem);
        fn(arg, stem, word);
    }
}
