#pragma once
// The main window: a transcript, a prompt box and a Run button. Until the engine controller is
// wired in, the window cannot run a model and says so rather than pretending.
#include <QIcon>
#include <QMainWindow>

class QAction;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTextBrowser;

namespace strata::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    explicit MainWindow(QWidget* parent = nullptr);

    // The application icon from the embedded resources (SVG plus PNG sizes, so it shows even
    // where Qt's SVG plugin is not installed).
    static QIcon appIcon();

    // One line saying which compute backend the window would use, as shown in the status bar.
    static QString backendDescription();

private:
    void createMenus();
    void createCentralArea();
    void showAbout();

    QAction* quitAction_ = nullptr;
    QAction* aboutAction_ = nullptr;
    QTextBrowser* transcript_ = nullptr;
    QPlainTextEdit* prompt_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QLabel* backendLabel_ = nullptr;
};

}  // namespace strata::ui
