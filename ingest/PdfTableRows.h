#pragma once
// Tables in PDF pages kept as rows. A text extractor's reading order puts a table's columns one
// after the other, or its cells on lines of their own, so a model sees "Alice Bob Carol 34 29 41"
// where the page showed rows. From the geometry of the page's words, runs of lines whose words
// fall into the same columns, with wide gaps between them, are found and written back one row a
// line, cells joined by " | ", where the table's first word was. Two- and three-column prose also
// falls into columns, and is told apart by its long lines (and left as it was).
#include <string>
#include <vector>

namespace strata {

struct PdfWord {
    std::string text;  // UTF-8, as the page's text has it
    // Bounding box in page points, y growing downwards (poppler's text boxes).
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// pageText is the page's text in reading order and words its words in the same order (poppler's
// text() and text_list() walk the page alike). Returns pageText with every table found rebuilt
// as rows; pageText unchanged when there is no table or when the words cannot be matched to the
// text one by one.
std::string withTableRows(const std::string& pageText, const std::vector<PdfWord>& words);

}  // namespace strata
