// strata: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QTimer>

#include <cstdio>

#include "MainWindow.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Strata"));
    QApplication::setApplicationName(QStringLiteral("Strata"));
    QApplication::setApplicationVersion(QStringLiteral(STRATA_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("strata"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Local long-context analysis with large language models."));
    parser.addHelpOption();
    parser.addVersionOption();
    // For documentation and visual checks: render the window into a PNG once shown, then exit.
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save the window to FILE and exit."),
                                  QStringLiteral("FILE"));
    screenshot.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(screenshot);
    parser.process(app);

    QApplication::setWindowIcon(strata::ui::MainWindow::appIcon());
    strata::ui::MainWindow window;
    window.show();

    if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        // Give the window system a moment to map and lay out the window before grabbing it.
        QTimer::singleShot(500, &window, [&window, path] {
            if (!window.grab().save(path)) {
                std::fprintf(stderr, "strata: could not write the screenshot to %s\n", qPrintable(path));
                QCoreApplication::exit(1);
                return;
            }
            QCoreApplication::exit(0);
        });
    }
    return QApplication::exec();
}
