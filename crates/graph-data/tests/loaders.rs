//! Loaders against the real files of the mirror: the published facts of
//! each data set.

use graph_data::fetch::Fetcher;
use graph_data::ts;

fn fetcher() -> Fetcher {
    Fetcher::from_env()
}

#[test]
fn japanese_vowels_has_the_published_shape() {
    let d = ts::load("japanese-vowels", &fetcher()).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (270, 370));
    assert_eq!((d.train.channels, d.test.channels), (12, 12));
    assert_eq!(d.train.num_classes(), 9);
    let lens: Vec<usize> = d.train.lengths().into_iter().chain(d.test.lengths()).collect();
    assert_eq!(
        (*lens.iter().min().unwrap(), *lens.iter().max().unwrap()),
        (7, 29)
    );
    // 30 utterances per speaker in the training set.
    let mut per_class = vec![0; 9];
    d.train.labels.iter().for_each(|&l| per_class[l as usize] += 1);
    assert_eq!(per_class, vec![30; 9]);
    for s in d.train.series.iter().chain(&d.test.series) {
        assert_eq!(s.len() % 12, 0);
        assert!(s.iter().all(|v| v.is_finite()));
    }
    // First value of the first case, channel 0 and 1 (from the file's text).
    assert_eq!(&d.train.series[0][..2], &[1.860936, -0.207383]);
}

#[test]
fn univariate_ucr_sets_have_the_published_sizes() {
    // (name, train, test, length, classes, channels) from the UCR/UEA archive.
    for (name, ntrain, ntest, len, classes, chans) in [
        ("gunpoint", 50, 150, 150, 2, 1),
        ("italy-power-demand", 67, 1029, 24, 2, 1),
        ("arrowhead", 36, 175, 251, 3, 1),
        ("basic-motions", 40, 40, 100, 4, 6),
    ] {
        let d = ts::load(name, &fetcher()).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (ntrain, ntest), "{name}");
        assert_eq!(d.train.num_classes(), classes, "{name}");
        assert_eq!(d.train.channels, chans, "{name}");
        assert!(
            d.train
                .lengths()
                .iter()
                .chain(&d.test.lengths())
                .all(|&l| l == len),
            "{name}"
        );
    }
}
