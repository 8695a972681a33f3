#include "SessionListModel.h"

#include <QDateTime>
#include <QLocale>

namespace strata::ui {

SessionListModel::SessionListModel(QObject* parent) : QAbstractTableModel(parent) {}

void SessionListModel::setSessions(std::vector<strata::SessionInfo> sessions) {
    beginResetModel();
    sessions_ = std::move(sessions);
    endResetModel();
}

strata::SessionInfo SessionListModel::sessionAt(int row) const {
    if (row < 0 || row >= static_cast<int>(sessions_.size())) return {};
    return sessions_[static_cast<size_t>(row)];
}

QString SessionListModel::idAt(int row) const {
    if (row < 0 || row >= static_cast<int>(sessions_.size())) return {};
    return QString::fromStdString(sessions_[static_cast<size_t>(row)].id);
}

int SessionListModel::rowOf(const QString& id) const {
    const std::string wanted = id.toStdString();
    for (size_t i = 0; i < sessions_.size(); ++i)
        if (sessions_[i].id == wanted) return static_cast<int>(i);
    return -1;
}

void SessionListModel::setLiveState(const QString& id, const QString& state, const QString& detail) {
    const LiveState before = live_.value(id);
    if (state.isEmpty()) live_.remove(id);
    else live_.insert(id, {state, detail});
    if (before.state == state && before.detail == detail) return;
    const int row = rowOf(id);
    if (row >= 0) emit dataChanged(index(row, StateColumn), index(row, StateColumn));
}

int SessionListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(sessions_.size());
}

int SessionListModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString SessionListModel::formatLocalTime(int64_t unixMs) {
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(unixMs).toLocalTime();
    return QLocale().toString(local, QLocale::ShortFormat);
}

QVariant SessionListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(sessions_.size())) return {};
    const strata::SessionInfo& s = sessions_[static_cast<size_t>(index.row())];
    if (role == IdRole) return QString::fromStdString(s.id);

    if (role == SortRole) {
        switch (index.column()) {
        case TitleColumn: return QString::fromStdString(s.title).toLower();
        case UpdatedColumn: return QVariant::fromValue<qlonglong>(s.updatedAt);
        case StateColumn: return QString::fromLatin1(strata::toString(s.state));
        case TurnsColumn: return QVariant::fromValue<qlonglong>(s.turnCount);
        case ContextTokensColumn: return QVariant::fromValue<qlonglong>(s.contextTokens);
        default: return {};
        }
    }

    const auto live = index.column() == StateColumn ? live_.constFind(QString::fromStdString(s.id)) : live_.cend();
    if (live != live_.cend() && (role == Qt::DisplayRole || role == Qt::ToolTipRole))
        return role == Qt::DisplayRole ? live->state : live->detail;

    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case TitleColumn: return s.title.empty() ? tr("(untitled)") : QString::fromStdString(s.title);
        case UpdatedColumn: return formatLocalTime(s.updatedAt);
        case StateColumn: return QString::fromLatin1(strata::toString(s.state));
        case TurnsColumn: return QVariant::fromValue<qlonglong>(s.turnCount);
        case ContextTokensColumn: return QVariant::fromValue<qlonglong>(s.contextTokens);
        default: return {};
        }
    }

    if (role == Qt::ToolTipRole) {
        if (index.column() == TitleColumn)
            return tr("%1\nModel: %2\nId: %3")
                .arg(QString::fromStdString(s.title), QString::fromStdString(s.modelPath),
                     QString::fromStdString(s.id));
        if (index.column() == UpdatedColumn)
            return tr("Created %1").arg(formatLocalTime(s.createdAt));
    }

    if (role == Qt::TextAlignmentRole &&
        (index.column() == TurnsColumn || index.column() == ContextTokensColumn))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant SessionListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TitleColumn: return tr("Title");
    case UpdatedColumn: return tr("Updated");
    case StateColumn: return tr("State");
    case TurnsColumn: return tr("Turns");
    case ContextTokensColumn: return tr("Context tokens");
    default: return {};
    }
}

}  // namespace strata::ui
