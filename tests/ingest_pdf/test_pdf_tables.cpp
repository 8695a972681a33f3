// Tables in PDF pages keep their rows: each row one line in the prompt, cells joined by " | ",
// while paragraphs around the table and prose set in two or three columns keep poppler's reading
// order (column after column) untouched.
#include <QtTest>

#include <string>
#include <vector>

#include "../support/HandWrittenPdf.h"
#include "PdfDocument.h"
#include "PdfTableRows.h"
#include "PromptParts.h"
#include "TextDocument.h"

#include "../ingest_support/TextOnlyModel.h"
#include "../support/TestFiles.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

// One piece of text drawn at (x, y) in points from the bottom left, Helvetica 10 pt.
struct Placed {
    double x, y;
    std::string text;
};

std::string streamOf(const std::vector<Placed>& pieces) {
    std::string stream;
    for (const Placed& p : pieces)
        stream += "BT /F1 10 Tf 1 0 0 1 " + std::to_string(p.x) + " " + std::to_string(p.y) + " Tm (" +
                  escapePdfString(p.text) + ") Tj ET\n";
    return stream;
}

const std::vector<std::vector<std::string>> kTable = {
    {"Name", "Role", "Since"},
    {"Alice Martin", "Site reliability", "2019"},
    {"Bob Chen", "Database admin", "2021"},
    {"Carol Diaz", "Network lead", "2017"},
    {"Dan Okafor", "Security", "2023"},
};

// A paragraph, the 3 x 5 table drawn column by column (as many producers draw tables), and a
// closing paragraph.
std::string tablePage() {
    std::vector<Placed> pieces = {{72, 720, "The on-call roster for the second quarter is below."}};
    for (size_t column = 0; column < 3; ++column)
        for (size_t row = 0; row < kTable.size(); ++row)
            pieces.push_back({72 + 160.0 * double(column), 690 - 16.0 * double(row), kTable[row][column]});
    pieces.push_back({72, 590, "Escalate to the lead of the affected service first."});
    return streamOf(pieces);
}

}  // namespace

class TestPdfTables : public QObject {
    Q_OBJECT

private slots:
    void tableRowsStayOnOneLineEach() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "roster.pdf", makePdfFromStreams({tablePage()}));
        const auto part = ingestFile(path, textOnlyModel());
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        const std::string rendered = renderTextParts({part.value()});
        qInfo("%s", rendered.c_str());
        for (const auto& row : kTable) {
            const std::string line = row[0] + " | " + row[1] + " | " + row[2] + "\n";
            QVERIFY2(contains(rendered, line), (line + " missing from:\n" + rendered).c_str());
        }
        // The rows in order, one after the other, between the two paragraphs.
        QCOMPARE(rendered, std::string("[roster.pdf, page 1]\n"
                                       "The on-call roster for the second quarter is below.\n\n"
                                       "Name | Role | Since\n"
                                       "Alice Martin | Site reliability | 2019\n"
                                       "Bob Chen | Database admin | 2021\n"
                                       "Carol Diaz | Network lead | 2017\n"
                                       "Dan Okafor | Security | 2023\n\n"
                                       "Escalate to the lead of the affected service first.\n"));
    }

    void proseInColumnsKeepsItsReadingOrder() {
        // Two columns of eight lines each, baselines level across the gutter, as a journal sets
        // them: a reader takes the left column first.
        const std::vector<std::string> left = {
            "Storage latency rose sharply after the",  "firmware update on Monday night, and the",
            "team first suspected the new controller", "driver that shipped with the same update.",
            "Rolling the driver back changed nothing,", "so attention moved to the disks, whose",
            "queue depths had doubled since the patch", "window opened at eleven in the evening.",
        };
        const std::vector<std::string> right = {
            "The vendor confirmed a known regression", "in the write cache policy of that release",
            "and recommended pinning the previous one", "until a fix ships in the next quarter.",
            "After the rollback latency fell back to", "its usual level within twenty minutes and",
            "the queue depths returned to what they", "had been before the maintenance window.",
        };
        std::vector<Placed> pieces;
        for (size_t i = 0; i < left.size(); ++i) {
            pieces.push_back({72, 700 - 14.0 * double(i), left[i]});
            pieces.push_back({320, 700 - 14.0 * double(i), right[i]});
        }
        QTemporaryDir dir;
        const auto doc = readPdf(writeFile(dir, "columns.pdf", makePdfFromStreams({streamOf(pieces)})));
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        std::string expected;
        for (const auto& line : left)
            expected += line + "\n";
        expected += "\n";
        for (const auto& line : right)
            expected += line + "\n";
        expected.pop_back();
        QCOMPARE(doc->pages[0].text, expected);
        QVERIFY(!contains(doc->pages[0].text, " | "));
    }

    void sidebarBesideProseIsNoTable() {
        // Short items on the left, a paragraph on the right, level line by line (a CV, a data
        // sheet): the paragraph's lines run on, so this is no table and keeps its order.
        const std::vector<std::string> items = {"Skills", "Python", "Linux", "Networks", "Storage"};
        const std::vector<std::string> prose = {
            "Ten years of running storage clusters for", "a regional bank, from the first tape robot",
            "to object stores spread over three sites,", "with a record of outages shorter than the",
            "service agreement asked for in every year.",
        };
        std::vector<Placed> pieces;
        for (size_t i = 0; i < items.size(); ++i) {
            pieces.push_back({72, 700 - 14.0 * double(i), items[i]});
            pieces.push_back({200, 700 - 14.0 * double(i), prose[i]});
        }
        QTemporaryDir dir;
        const auto doc = readPdf(writeFile(dir, "cv.pdf", makePdfFromStreams({streamOf(pieces)})));
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        qInfo("%s", doc->pages[0].text.c_str());
        QVERIFY2(!contains(doc->pages[0].text, " | "), doc->pages[0].text.c_str());
        std::string paragraph;
        for (const auto& line : prose)
            paragraph += line + "\n";
        paragraph.pop_back();
        QVERIFY2(contains(doc->pages[0].text, paragraph), doc->pages[0].text.c_str());
    }

    void ordinaryParagraphsAreLeftAlone() {
        QTemporaryDir dir;
        const auto doc = readPdf(writeFile(
            dir, "plain.pdf",
            makePdf({{"A heading", "A paragraph of ordinary text that runs over", "two lines of the page."}})));
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        QCOMPARE(doc->pages[0].text,
                 std::string("A heading\nA paragraph of ordinary text that runs over\ntwo lines of the page."));
    }

    void rowsFromGeometryAlone() {
        // withTableRows on words whose boxes make two rows of three cells; the text gives them
        // column by column.
        const std::string text = "Host\nweb1\n\nCPU\n93%\n\nState\ndegraded\n";
        const std::vector<PdfWord> words = {
            {"Host", 72, 100, 96, 110},  {"web1", 72, 114, 96, 124},      {"CPU", 200, 100, 220, 110},
            {"93%", 200, 114, 218, 124}, {"State", 320, 100, 345, 110},  {"degraded", 320, 114, 362, 124},
        };
        QCOMPARE(normalizePageText(withTableRows(text, words)), std::string("Host | CPU | State\nweb1 | 93% | degraded"));
        // Words that do not match the text leave it as it was.
        std::vector<PdfWord> other = words;
        other[3].text = "94%";
        QCOMPARE(withTableRows(text, other), text);
    }
};

QTEST_GUILESS_MAIN(TestPdfTables)
#include "test_pdf_tables.moc"
