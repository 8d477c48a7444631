import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { CLASSES, type ClassScores, formatScore, type ModerationClass } from './detection-format';
import './detection.css';

/**
 * The highest score of each class as a bar (a <meter>, its percentage as text beside it); flagged classes
 * are marked in words as well as in colour. Strings from the `video` namespace.
 */
export function ScoreBars(props: {
  scores: ClassScores;
  flagged: readonly ModerationClass[];
  /** Only these classes (the Moderation page's compact form); all by default. */
  only?: readonly ModerationClass[];
  compact?: boolean;
}) {
  const { t, i18n } = useTranslation('video');
  const id = useId();
  const classes = props.only ?? CLASSES;
  return (
    <ul className={`score-bars${props.compact ? ' compact' : ''}`}>
      {classes.map((c) => {
        const score = props.scores[c];
        const flagged = props.flagged.includes(c);
        const label = `${id}-${c}`;
        const text = formatScore(score, i18n.language);
        return (
          <li key={c} className={flagged ? 'flagged' : undefined}>
            <span id={label} className="score-class">
              {t(`detect.classes.${c}`)}
            </span>
            <meter
              className="score-bar"
              min={0}
              max={1}
              value={score}
              aria-labelledby={label}
              aria-valuetext={flagged ? t('detect.scoreFlagged', { score: text }) : text}
            >
              {text}
            </meter>
            <span className="score-value" aria-hidden="true">
              {text}
            </span>
            {flagged && (
              <span className="flag-tag" aria-hidden="true">
                {t('detect.flaggedTag')}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}
