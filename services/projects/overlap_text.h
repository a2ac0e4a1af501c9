/* overlap_text.h: the words of a title or summary, as overlap search compares them.
 *
 * Text is cut into words at every character that is not an ASCII letter or
 * digit (bytes of multi-byte UTF-8 characters count as letters, so "Côte"
 * stays one word). ASCII letters are lowered. Then, in order:
 *   - words shorter than 2 characters, longer than OVERLAP_TEXT_WORD_MAX
 *     bytes, and English stop words ("the", "and", "with" ...) plus a few
 *     words every project of the suite uses ("project", "programme",
 *     "united", "nations") are dropped; numbers stay ("2370" names a
 *     resolution);
 *   - a light suffix stripper (not a full Porter stemmer) makes the forms of
 *     a word meet: a plural -s/-es/-ies, then one of -ing, -ed, -ion, -ive,
 *     then a final -e, each only when enough of the word remains, so
 *     "measuring", "measured", "measures" and "measure" all become "measur"
 *     and "prevention", "preventing" and "prevent" become "prevent".
 * Pure functions; no state, any thread.
 */
#ifndef COMPACT_PROJECTS_OVERLAP_TEXT_H
#define COMPACT_PROJECTS_OVERLAP_TEXT_H

#include <stddef.h>

#define OVERLAP_TEXT_WORD_MAX 40

/* Called for each kept word: `stem` is its compared form, `word` the word as
 * it appeared, lowered (for people). Both valid only during the call. */
typedef void (*overlap_text_fn)(void *arg, const char *stem, const char *word);

/* Calls `fn` for every kept word of `text`, in order, repeats included. */
void overlap_text_words(const char *text, overlap_text_fn fn, void *arg);

/* Writes the stem of `word` (lower case, at most OVERLAP_TEXT_WORD_MAX
 * bytes) into `out` (at least OVERLAP_TEXT_WORD_MAX + 1 bytes). */
void overlap_text_stem(const char *word, char *out);

/* 1 if the lowered `word` is a stop word. */
int overlap_text_is_stop_word(const char *word);

#endif
