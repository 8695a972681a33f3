#include "PdfTableRows.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

namespace strata {

namespace {

// Gaps and distances in units of a line's height (about the font size): ordinary word spaces
// are a quarter to a half of it, even in justified text; table columns stand a full one or more
// apart.
constexpr double kCellGap = 0.8;
// Rows of one table follow each other at most this far apart (top of one to bottom of the last).
constexpr double kRowGap = 2.0;
// Prose set in columns fills each column's line with several words; table cells are short.
constexpr double kProseWordsPerCell = 4.0;
// A column whose lines hold this many words and mostly run on into the next is prose.
constexpr double kFlowingWordsPerCell = 3.0;
// Two rows of three or more columns make a table; two columns need three rows, since a heading
// with a page number beside it already looks like two rows of two.
constexpr size_t kMinRows = 2;
constexpr size_t kMinRowsOfTwoColumns = 3;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Located {
    size_t begin = 0, end = 0;  // the word's bytes in the page text
};

// Finds each word where the text has it, in order. A word poppler dehyphenated in the text
// ("docu-" at a line end followed by "ment") is found without its hyphen, joined to the next.
bool locate(const std::string& text, const std::vector<PdfWord>& words, std::vector<Located>& out) {
    out.resize(words.size());
    size_t pos = 0;
    for (size_t i = 0; i < words.size(); ++i) {
        while (pos < text.size() && isSpace(text[pos]))
            ++pos;
        std::string_view word = words[i].text;
        if (word.empty())
            return false;
        if (text.compare(pos, word.size(), word) != 0) {
            const size_t hyphen = word.size() >= 2 && word.substr(word.size() - 2) == "\xC2\xAD" ? 2
                                  : word.back() == '-'                                           ? 1
                                                                                                 : 0;
            if (hyphen == 0 || word.size() == hyphen || text.compare(pos, word.size() - hyphen, word.substr(0, word.size() - hyphen)) != 0)
                return false;
            word = word.substr(0, word.size() - hyphen);
        }
        out[i] = {pos, pos + word.size()};
        pos += word.size();
    }
    return true;
}

struct Segment {
    std::vector<size_t> words;  // left to right
    double x0 = 0, x1 = 0;
};

struct Line {
    std::vector<size_t> words;  // left to right
    double y0 = 0, y1 = 0, height = 0;
    std::vector<Segment> segments;
};

double centre(const PdfWord& w) { return (w.y0 + w.y1) / 2; }
double heightOf(const PdfWord& w) { return w.y1 - w.y0; }

// Words whose vertical centres lie within half a word's height of each other share a line.
std::vector<Line> visualLines(const std::vector<PdfWord>& words) {
    std::vector<size_t> order(words.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return centre(words[a]) < centre(words[b]); });
    std::vector<Line> lines;
    double lineCentre = 0, lineHeight = 0;
    for (size_t index : order) {
        const PdfWord& w = words[index];
        if (heightOf(w) <= 0)
            continue;
        if (lines.empty() || std::abs(centre(w) - lineCentre) > 0.5 * std::min(heightOf(w), lineHeight)) {
            lines.emplace_back();
            lineCentre = centre(w);
            lineHeight = heightOf(w);
        }
        lines.back().words.push_back(index);
    }
    for (Line& line : lines) {
        std::sort(line.words.begin(), line.words.end(), [&](size_t a, size_t b) { return words[a].x0 < words[b].x0; });
        std::vector<double> heights;
        line.y0 = words[line.words.front()].y0;
        line.y1 = words[line.words.front()].y1;
        for (size_t index : line.words) {
            line.y0 = std::min(line.y0, words[index].y0);
            line.y1 = std::max(line.y1, words[index].y1);
            heights.push_back(heightOf(words[index]));
        }
        std::nth_element(heights.begin(), heights.begin() + long(heights.size() / 2), heights.end());
        line.height = heights[heights.size() / 2];
        for (size_t index : line.words) {
            const PdfWord& w = words[index];
            if (line.segments.empty() || w.x0 - line.segments.back().x1 > kCellGap * line.height) {
                line.segments.push_back({{}, w.x0, w.x1});
            }
            Segment& s = line.segments.back();
            s.words.push_back(index);
            s.x1 = std::max(s.x1, w.x1);
        }
    }
    return lines;
}

bool overlaps(double a0, double a1, double b0, double b1) { return a0 < b1 && b0 < a1; }

struct Table {
    std::vector<const Line*> rows;
    std::vector<std::pair<double, double>> columns;  // x ranges, the union of the rows' cells

    bool takes(const Line& line) const {
        if (line.segments.size() != columns.size() || line.y0 - rows.back()->y1 > kRowGap * line.height)
            return false;
        for (size_t j = 0; j < columns.size(); ++j) {
            const Segment& s = line.segments[j];
            if (!overlaps(s.x0, s.x1, columns[j].first, columns[j].second))
                return false;
            if (j > 0 && s.x0 <= columns[j - 1].second)
                return false;
            if (j + 1 < columns.size() && s.x1 >= columns[j + 1].first)
                return false;
        }
        return true;
    }
    void add(const Line& line) {
        if (rows.empty())
            for (const Segment& s : line.segments)
                columns.emplace_back(s.x0, s.x1);
        for (size_t j = 0; j < columns.size(); ++j) {
            columns[j].first = std::min(columns[j].first, line.segments[j].x0);
            columns[j].second = std::max(columns[j].second, line.segments[j].x1);
        }
        rows.push_back(&line);
    }
    bool isTable(const std::vector<PdfWord>& words) const {
        const size_t needed = columns.size() >= 3 ? kMinRows : kMinRowsOfTwoColumns;
        if (rows.size() < needed)
            return false;
        // Prose in columns has long lines in every column; a table has at least one column of
        // short cells. A column of prose beside short items (a sidebar) flows from line to line:
        // its lines run on into lower-case starts, where a table's cells each begin afresh.
        bool someColumnShort = false;
        for (size_t j = 0; j < columns.size(); ++j) {
            size_t wordCount = 0, runOns = 0;
            for (size_t r = 0; r < rows.size(); ++r) {
                const Segment& cell = rows[r]->segments[j];
                wordCount += cell.words.size();
                if (r > 0) {
                    const std::string& first = words[cell.words.front()].text;
                    const std::string& last = words[rows[r - 1]->segments[j].words.back()].text;
                    if ((first[0] >= 'a' && first[0] <= 'z') || last.back() == '-')
                        ++runOns;
                }
            }
            const double wordsPerCell = double(wordCount) / double(rows.size());
            if (wordsPerCell < kProseWordsPerCell)
                someColumnShort = true;
            if (wordsPerCell >= kFlowingWordsPerCell && 2 * runOns >= rows.size() - 1)
                return false;
        }
        return someColumnShort;
    }
};

std::vector<Table> findTables(const std::vector<Line>& lines, const std::vector<PdfWord>& words) {
    std::vector<Table> tables;
    Table open;
    const auto close = [&]() {
        if (open.isTable(words))
            tables.push_back(std::move(open));
        open = Table{};
    };
    for (const Line& line : lines) {
        if (line.segments.size() < 2) {
            close();
            continue;
        }
        if (!open.rows.empty() && !open.takes(line))
            close();
        open.add(line);
    }
    close();
    return tables;
}

std::string rowText(const Line& row, const std::vector<PdfWord>& words, const std::vector<Located>& located) {
    std::string out;
    for (size_t j = 0; j < row.segments.size(); ++j) {
        if (j > 0)
            out += " | ";
        const std::vector<size_t>& cell = row.segments[j].words;
        for (size_t k = 0; k < cell.size(); ++k) {
            // Pieces the text runs together (a word in two fonts) stay together.
            if (k > 0 && located[cell[k]].begin != located[cell[k - 1]].end)
                out += ' ';
            out += std::string_view(words[cell[k]].text).substr(0, located[cell[k]].end - located[cell[k]].begin);
        }
    }
    return out;
}

}  // namespace

std::string withTableRows(const std::string& pageText, const std::vector<PdfWord>& words) {
    if (words.size() < 4)
        return pageText;
    std::vector<Located> located;
    if (!locate(pageText, words, located))
        return pageText;
    const std::vector<Line> lines = visualLines(words);
    const std::vector<Table> tables = findTables(lines, words);
    if (tables.empty())
        return pageText;

    // Each table's rows go where its first word was; its words leave the places they had.
    std::vector<bool> removed(pageText.size() + 1, false);
    std::map<size_t, std::string> inserts;
    for (const Table& table : tables) {
        std::string rows;
        size_t first = pageText.size();
        for (const Line* row : table.rows) {
            rows += rowText(*row, words, located) + "\n";
            for (size_t index : row->words) {
                const Located& at = located[index];
                first = std::min(first, at.begin);
                size_t end = at.end;
                while (end < pageText.size() && (pageText[end] == ' ' || pageText[end] == '\t'))
                    ++end;
                std::fill(removed.begin() + long(at.begin), removed.begin() + long(end), true);
            }
        }
        inserts[first] += "\n" + rows + "\n";
    }
    std::string out;
    out.reserve(pageText.size() + 64);
    for (size_t i = 0; i <= pageText.size(); ++i) {
        if (auto it = inserts.find(i); it != inserts.end()) {
            while (!out.empty() && (out.back() == ' ' || out.back() == '\t'))
                out.pop_back();
            out += it->second;
        }
        if (i < pageText.size() && !removed[i])
            out += pageText[i];
    }
    return out;
}

}  // namespace strata
